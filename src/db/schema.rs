// The schema, shared by both backends: only types both support (ids and JSON
// as Text, UTC Timestamp, Date, Integer/BigInt, Bool).

diesel::table! {
    organizations (id) {
        id -> Text,
        name -> Text,
        kind -> Text,
        region_code -> Nullable<Text>,
        created_at -> Timestamp,
        level -> Nullable<Text>,
        parent_id -> Nullable<Text>,
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
        token_epoch -> BigInt,
        can_approve -> Bool,
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
        actor_subject_id -> Nullable<Text>,
    }
}

diesel::table! {
    change_head (id) {
        id -> Integer,
        seq -> BigInt,
    }
}

diesel::table! {
    changes (seq) {
        seq -> BigInt,
        kind -> Text,
        key -> Text,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    audit_head (id) {
        id -> Integer,
        seq -> BigInt,
        hash -> Text,
        event_seq -> BigInt,
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
        score -> Double,
        band -> Text,
        score_as_of -> Nullable<Date>,
        policy_version -> Integer,
        shared_score -> Nullable<Double>,
        shared_band -> Nullable<Text>,
        shared_violations -> Integer,
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
    subject_relations (id) {
        id -> Text,
        subject_id -> Text,
        related_subject_id -> Text,
        relation -> Text,
        valid_from -> Date,
        valid_to -> Nullable<Date>,
        created_by -> Text,
        created_at -> Timestamp,
        ended_by -> Nullable<Text>,
        ended_at -> Nullable<Timestamp>,
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
        decided_on -> Nullable<Date>,
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
        penalty_kinds -> Text,
        heavier_penalty -> Bool,
        ban_until -> Nullable<Date>,
        listing_ground -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        decided_by -> Nullable<Text>,
        repaired_on -> Nullable<Date>,
        related_subject_ids -> Text,
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

diesel::table! {
    scoring_policies (version) {
        version -> Integer,
        document -> Text,
        active -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    listings (id) {
        id -> Text,
        subject_id -> Text,
        status -> Text,
        reason -> Text,
        legal_basis -> Text,
        proposed_by -> Nullable<Text>,
        authority_id -> Nullable<Text>,
        noticed_by -> Nullable<Text>,
        served_on -> Nullable<Date>,
        objection_deadline -> Nullable<Date>,
        decided_by -> Nullable<Text>,
        decided_on -> Nullable<Date>,
        decision_reason -> Nullable<Text>,
        listed_on -> Nullable<Date>,
        expires_on -> Nullable<Date>,
        pending_repair_applied_on -> Nullable<Date>,
        removed_on -> Nullable<Date>,
        removal_reason -> Nullable<Text>,
        revoked_on -> Nullable<Date>,
        revocation_reason -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        hearing_status -> Nullable<Text>,
        considerations -> Text,
        no_intent_proven -> Bool,
        notice_no -> Nullable<Text>,
        decision_no -> Nullable<Text>,
        measures -> Text,
        published_on -> Nullable<Date>,
        publication_due_by -> Nullable<Date>,
        repair_barred_until -> Nullable<Date>,
    }
}

diesel::table! {
    listing_consents (id) {
        id -> Text,
        listing_id -> Text,
        organization_id -> Text,
        outcome -> Text,
        reason -> Text,
        given_by -> Text,
        given_on -> Date,
        given_at -> Timestamp,
    }
}

diesel::table! {
    listing_documents (listing_id, kind) {
        listing_id -> Text,
        kind -> Text,
        number -> Text,
        content -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    document_numbers (authority_id, kind, year) {
        authority_id -> Text,
        kind -> Text,
        year -> Integer,
        last -> Integer,
    }
}

diesel::table! {
    review_flags (id) {
        id -> Text,
        subject_id -> Text,
        raised_on -> Date,
        score -> Double,
        status -> Text,
        reason -> Text,
        resolved_by -> Nullable<Text>,
        resolved_at -> Nullable<Timestamp>,
        resolution -> Nullable<Text>,
        listing_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    listing_violations (listing_id, violation_id) {
        listing_id -> Text,
        violation_id -> Text,
    }
}

diesel::table! {
    listing_history (id) {
        id -> Text,
        listing_id -> Text,
        action -> Text,
        from_status -> Nullable<Text>,
        to_status -> Text,
        actor_user_id -> Nullable<Text>,
        effective_on -> Date,
        at -> Timestamp,
        reason -> Nullable<Text>,
    }
}

diesel::table! {
    objections (id) {
        id -> Text,
        listing_id -> Text,
        statement -> Text,
        received_on -> Date,
        hearing_requested -> Bool,
        recorded_by -> Nullable<Text>,
        recorded_at -> Timestamp,
        channel -> Text,
    }
}

diesel::table! {
    repairs (id) {
        id -> Text,
        listing_id -> Text,
        subject_id -> Text,
        authority_id -> Nullable<Text>,
        status -> Text,
        channel -> Text,
        statement -> Text,
        commitment_text -> Text,
        commitment_signed_on -> Date,
        penalty_fulfilled -> Bool,
        harm_removed -> Bool,
        evidence -> Text,
        applied_on -> Date,
        acceptance_due_by -> Nullable<Date>,
        recorded_by -> Nullable<Text>,
        recorded_at -> Timestamp,
        missing -> Text,
        supplement_requested_on -> Nullable<Date>,
        supplemented_on -> Nullable<Date>,
        supplement_statement -> Nullable<Text>,
        accepted_on -> Nullable<Date>,
        accepted_by -> Nullable<Text>,
        acceptance_reason -> Nullable<Text>,
        decision_due_by -> Nullable<Date>,
        extended_on -> Nullable<Date>,
        extended_by -> Nullable<Text>,
        extension_reason -> Nullable<Text>,
        decided_on -> Nullable<Date>,
        decided_by -> Nullable<Text>,
        decision_reason -> Nullable<Text>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    portal_codes (listing_id) {
        listing_id -> Text,
        code_hash -> Text,
        epoch -> Integer,
        issued_at -> Timestamp,
        issued_by -> Nullable<Text>,
    }
}

diesel::table! {
    evidence_files (id) {
        id -> Text,
        sha256 -> Text,
        media_type -> Text,
        size_bytes -> BigInt,
        file_name -> Nullable<Text>,
        uploaded_by -> Nullable<Text>,
        subject_id -> Nullable<Text>,
        uploaded_at -> Timestamp,
    }
}

diesel::table! {
    events (seq) {
        seq -> BigInt,
        id -> Text,
        event_type -> Text,
        subject_id -> Text,
        listing_id -> Nullable<Text>,
        occurred_at -> Timestamp,
        data -> Text,
    }
}

diesel::table! {
    publication_state (id) {
        id -> Integer,
        counter -> BigInt,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    subject_name_keys (subject_id, key_kind, name_key) {
        subject_id -> Text,
        key_kind -> Text,
        name_key -> Text,
        position -> Integer,
    }
}

diesel::table! {
    screenings (id) {
        id -> Text,
        batch_id -> Nullable<Text>,
        position -> Integer,
        organization_id -> Text,
        user_id -> Text,
        screened_at -> Timestamp,
        query_fingerprint -> Text,
        decision -> Text,
        list_version -> BigInt,
        matched_subject_ids -> Text,
    }
}

diesel::table! {
    watchlist (id) {
        id -> Text,
        organization_id -> Text,
        subject_id -> Text,
        external_ref -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
        since_seq -> BigInt,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Text,
        organization_id -> Text,
        url -> Text,
        secret -> Text,
        event_types -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        active -> Bool,
        last_dispatched_seq -> BigInt,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        webhook_id -> Text,
        event_id -> Text,
        event_seq -> BigInt,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claimed_until -> Nullable<Timestamp>,
        claim_token -> Nullable<Text>,
        last_status_code -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    deployment_checks (name) {
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    write_positions (user_id) {
        user_id -> Text,
        lsn -> BigInt,
        recorded_at -> Timestamp,
    }
}

diesel::joinable!(watchlist -> subjects (subject_id));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(subject_name_keys -> subjects (subject_id));
diesel::joinable!(listings -> subjects (subject_id));
diesel::joinable!(listing_violations -> listings (listing_id));
diesel::joinable!(listing_violations -> violations (violation_id));
diesel::joinable!(listing_history -> listings (listing_id));
diesel::joinable!(listing_consents -> listings (listing_id));
diesel::joinable!(listing_documents -> listings (listing_id));
diesel::joinable!(review_flags -> subjects (subject_id));
diesel::joinable!(objections -> listings (listing_id));
diesel::joinable!(repairs -> listings (listing_id));
diesel::joinable!(portal_codes -> listings (listing_id));
diesel::joinable!(subject_names -> subjects (subject_id));
diesel::joinable!(subject_accounts -> subjects (subject_id));
diesel::joinable!(violations -> subjects (subject_id));
diesel::joinable!(violation_evidence -> violations (violation_id));

diesel::allow_tables_to_appear_in_same_query!(
    audit_log,
    audit_head,
    change_head,
    changes,
    idempotency_keys,
    subjects,
    subject_names,
    subject_accounts,
    subject_relations,
    violations,
    violation_evidence,
    organizations,
    users,
    refresh_tokens,
    login_throttle,
    scoring_policies,
    listings,
    listing_violations,
    listing_history,
    listing_consents,
    listing_documents,
    document_numbers,
    review_flags,
    objections,
    repairs,
    portal_codes,
    evidence_files,
    events,
    publication_state,
    subject_name_keys,
    screenings,
    watchlist,
    webhooks,
    webhook_deliveries,
    write_positions,
    deployment_checks,
);
