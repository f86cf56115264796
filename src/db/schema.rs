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

diesel::allow_tables_to_appear_in_same_query!(organizations, users, refresh_tokens, login_throttle);
