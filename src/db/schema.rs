// The schema, shared by both backends: only types both support (ids and JSON
// as Text, UTC Timestamp, Date, Integer/BigInt, Bool).

diesel::table! {
    organizations (id) {
        id -> Text,
        name -> Text,
        kind -> Text,
        region_code -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        password_hash -> Text,
        role -> Text,
        organization_id -> Text,
        display_name -> Nullable<Text>,
        disabled -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        family_id -> Text,
        user_id -> Text,
        token_hash -> Text,
        issued_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    login_throttle (throttle_key) {
        throttle_key -> Text,
        failures -> Integer,
        window_started_at -> Timestamp,
    }
}

diesel::joinable!(users -> organizations (organization_id));
diesel::joinable!(refresh_tokens -> users (user_id));

diesel::table! {
    audit_log (seq) {
        seq -> BigInt,
        at -> Timestamp,
        actor_user_id -> Nullable<Text>,
        actor_organization_id -> Nullable<Text>,
        action -> Text,
        target_type -> Text,
        target_id -> Text,
        details -> Text,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    audit_head (id) {
        id -> Integer,
        seq -> BigInt,
        hash -> Text,
    }
}

diesel::table! {
    idempotency_keys (user_id, idempotency_key) {
        user_id -> Text,
        idempotency_key -> Text,
        request_hash -> Text,
        response_status -> Integer,
        response_body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    subjects (id) {
        id -> Text,
        kind -> Text,
        name -> Text,
        region_code -> Nullable<Text>,
        id_number_hash -> Nullable<Text>,
        id_number_masked -> Nullable<Text>,
        uscc -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    subject_names (subject_id, position) {
        subject_id -> Text,
        position -> Integer,
        name -> Text,
    }
}

diesel::table! {
    subject_accounts (subject_id, account_key) {
        subject_id -> Text,
        account_key -> Text,
        platform -> Text,
        handle -> Text,
    }
}

diesel::table! {
    violations (id) {
        id -> Text,
        subject_id -> Text,
        category -> Text,
        severity -> Text,
        decided_on -> Date,
        description -> Text,
        decision_no -> Nullable<Text>,
        fine_cents -> Nullable<BigInt>,
        legal_basis -> Nullable<Text>,
        status -> Text,
        recorded_by -> Text,
        authority_id -> Text,
        recorded_at -> Timestamp,
        revoked_on -> Nullable<Date>,
        revoked_at -> Nullable<Timestamp>,
        revoked_by -> Nullable<Text>,
        revocation_reason -> Nullable<Text>,
    }
}

diesel::table! {
    violation_evidence (violation_id, position) {
        violation_id -> Text,
        position -> Integer,
        sha256 -> Text,
        media_type -> Text,
        description -> Nullable<Text>,
        uri -> Nullable<Text>,
    }
}

diesel::joinable!(subject_names -> subjects (subject_id));
diesel::joinable!(subject_accounts -> subjects (subject_id));
diesel::joinable!(violations -> subjects (subject_id));
diesel::joinable!(violation_evidence -> violations (violation_id));

diesel::allow_tables_to_appear_in_same_query!(
    audit_log,
    audit_head,
    idempotency_keys,
    subjects,
    subject_names,
    subject_accounts,
    violations,
    violation_evidence,
    organizations,
    users,
    refresh_tokens,
    login_throttle,
);
