// @generated automatically by Diesel CLI.

diesel::table! {
    account_tokens (token_hash) {
        token_hash -> Bytea,
        account_id -> Uuid,
        purpose -> Text,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    accounts (id) {
        id -> Uuid,
        person_id -> Uuid,
        password_hash -> Text,
        role -> Text,
        email_verified_at -> Nullable<Timestamptz>,
        disabled_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    audit_entries (id) {
        id -> Uuid,
        actor_account_id -> Nullable<Uuid>,
        action -> Text,
        target_type -> Text,
        target_id -> Uuid,
        before -> Nullable<Jsonb>,
        after -> Nullable<Jsonb>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    emails (id) {
        id -> Uuid,
        dedupe_key -> Nullable<Text>,
        kind -> Text,
        event_id -> Nullable<Uuid>,
        to_address -> Text,
        to_name -> Nullable<Text>,
        subject -> Text,
        text_body -> Text,
        html_body -> Text,
        ics -> Nullable<Text>,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        locked_at -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        sent_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    idempotency_keys (scope, key) {
        scope -> Text,
        key -> Text,
        request_hash -> Bytea,
        response_status -> Nullable<Int2>,
        response_body -> Nullable<Jsonb>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    login_failures (id) {
        id -> Int8,
        account_id -> Nullable<Uuid>,
        client_ip -> Text,
        failed_at -> Timestamptz,
    }
}

diesel::table! {
    people (id) {
        id -> Uuid,
        email -> Text,
        name -> Text,
        honorific -> Nullable<Text>,
        position -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(account_tokens -> accounts (account_id));
diesel::joinable!(accounts -> people (person_id));
diesel::joinable!(audit_entries -> accounts (actor_account_id));
diesel::joinable!(login_failures -> accounts (account_id));

diesel::allow_tables_to_appear_in_same_query!(
    account_tokens,
    accounts,
    audit_entries,
    emails,
    idempotency_keys,
    login_failures,
    people,
);
