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
        person_id -> Nullable<Uuid>,
        password_hash -> Text,
        role -> Text,
        email_verified_at -> Nullable<Timestamptz>,
        disabled_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        email -> Text,
        name -> Text,
    }
}

diesel::table! {
    affiliations (person_id, organization_id) {
        person_id -> Uuid,
        organization_id -> Uuid,
        position -> Nullable<Text>,
        focal_point -> Bool,
        created_at -> Timestamptz,
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
        reply_to -> Nullable<Text>,
        invitation_id -> Nullable<Uuid>,
        registration_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    event_partners (event_id, organization_id) {
        event_id -> Uuid,
        organization_id -> Uuid,
        role -> Text,
    }
}

diesel::table! {
    event_staff (event_id, account_id) {
        event_id -> Uuid,
        account_id -> Uuid,
        lead -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    events (id) {
        id -> Uuid,
        series_id -> Nullable<Uuid>,
        slug -> Text,
        title -> Text,
        summary -> Nullable<Text>,
        country -> Nullable<Text>,
        timezone -> Text,
        format -> Text,
        venue -> Nullable<Text>,
        online_url -> Nullable<Text>,
        status -> Text,
        created_by -> Nullable<Uuid>,
        published_at -> Nullable<Timestamptz>,
        cancelled_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        contact_name -> Nullable<Text>,
        contact_email -> Nullable<Text>,
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
    invitation_link_tokens (token_hash) {
        token_hash -> Bytea,
        invitation_id -> Uuid,
        generation -> Int4,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    invitation_sessions (invitation_id, session_id) {
        invitation_id -> Uuid,
        session_id -> Uuid,
        accepted -> Nullable<Bool>,
    }
}

diesel::table! {
    invitations (id) {
        id -> Uuid,
        event_id -> Uuid,
        person_id -> Uuid,
        token_hash -> Bytea,
        message -> Nullable<Text>,
        status -> Text,
        expires_at -> Timestamptz,
        sent_by -> Nullable<Uuid>,
        answered_at -> Nullable<Timestamptz>,
        reminders_sent -> Int4,
        last_reminded_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        generation -> Int4,
        sent_at -> Timestamptz,
        organization_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    login_failures (id) {
        id -> Int8,
        client_ip -> Text,
        failed_at -> Timestamptz,
        email -> Text,
    }
}

diesel::table! {
    mail_requests (id) {
        id -> Int8,
        recipient -> Nullable<Text>,
        client -> Text,
        admitted -> Bool,
        requested_at -> Timestamptz,
    }
}

diesel::table! {
    organizations (id) {
        id -> Uuid,
        name -> Text,
        short_name -> Nullable<Text>,
        kind -> Text,
        country -> Nullable<Text>,
        website -> Nullable<Text>,
        status -> Text,
        joined_on -> Nullable<Date>,
        contact_name -> Nullable<Text>,
        contact_email -> Nullable<Text>,
        application_note -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    outcomes (id) {
        id -> Uuid,
        event_id -> Uuid,
        session_id -> Nullable<Uuid>,
        title -> Text,
        body_markdown -> Text,
        published_at -> Nullable<Timestamptz>,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
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

diesel::table! {
    registrations (id) {
        id -> Uuid,
        session_id -> Uuid,
        person_id -> Uuid,
        status -> Text,
        source -> Text,
        invitation_id -> Nullable<Uuid>,
        organization_id -> Nullable<Uuid>,
        organization_name -> Nullable<Text>,
        country -> Nullable<Text>,
        waitlist_seq -> Nullable<Int8>,
        confirm_token_hash -> Nullable<Bytea>,
        confirm_token_expires_at -> Nullable<Timestamptz>,
        cancel_token_hash -> Nullable<Bytea>,
        confirmed_at -> Nullable<Timestamptz>,
        cancelled_at -> Nullable<Timestamptz>,
        checked_in_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        organization_kind -> Nullable<Text>,
    }
}

diesel::table! {
    series (id) {
        id -> Uuid,
        name -> Text,
        country -> Nullable<Text>,
        description -> Nullable<Text>,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    sessions (id) {
        id -> Uuid,
        event_id -> Uuid,
        title -> Text,
        description -> Nullable<Text>,
        access -> Text,
        starts_at -> Timestamptz,
        ends_at -> Timestamptz,
        capacity -> Nullable<Int4>,
        registration_opens_at -> Nullable<Timestamptz>,
        registration_closes_at -> Nullable<Timestamptz>,
        requires_approval -> Bool,
        waitlist -> Bool,
        chatham_house -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        online_url -> Nullable<Text>,
        sequence -> Int4,
    }
}

diesel::table! {
    speakers (id) {
        id -> Uuid,
        session_id -> Uuid,
        person_id -> Nullable<Uuid>,
        name -> Text,
        organization -> Nullable<Text>,
        role -> Text,
        sort_order -> Int4,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    waitlist_counts (session_id) {
        session_id -> Uuid,
        waitlisted -> Int4,
    }
}

diesel::joinable!(account_tokens -> accounts (account_id));
diesel::joinable!(accounts -> people (person_id));
diesel::joinable!(affiliations -> organizations (organization_id));
diesel::joinable!(affiliations -> people (person_id));
diesel::joinable!(audit_entries -> accounts (actor_account_id));
diesel::joinable!(emails -> events (event_id));
diesel::joinable!(emails -> invitations (invitation_id));
diesel::joinable!(emails -> registrations (registration_id));
diesel::joinable!(event_partners -> events (event_id));
diesel::joinable!(event_partners -> organizations (organization_id));
diesel::joinable!(event_staff -> accounts (account_id));
diesel::joinable!(event_staff -> events (event_id));
diesel::joinable!(events -> accounts (created_by));
diesel::joinable!(events -> series (series_id));
diesel::joinable!(invitation_link_tokens -> invitations (invitation_id));
diesel::joinable!(invitation_sessions -> invitations (invitation_id));
diesel::joinable!(invitation_sessions -> sessions (session_id));
diesel::joinable!(invitations -> accounts (sent_by));
diesel::joinable!(invitations -> events (event_id));
diesel::joinable!(invitations -> organizations (organization_id));
diesel::joinable!(invitations -> people (person_id));
diesel::joinable!(outcomes -> accounts (created_by));
diesel::joinable!(outcomes -> events (event_id));
diesel::joinable!(outcomes -> sessions (session_id));
diesel::joinable!(registrations -> invitations (invitation_id));
diesel::joinable!(registrations -> organizations (organization_id));
diesel::joinable!(registrations -> people (person_id));
diesel::joinable!(registrations -> sessions (session_id));
diesel::joinable!(series -> accounts (created_by));
diesel::joinable!(sessions -> events (event_id));
diesel::joinable!(speakers -> people (person_id));
diesel::joinable!(speakers -> sessions (session_id));
diesel::joinable!(waitlist_counts -> sessions (session_id));

diesel::allow_tables_to_appear_in_same_query!(
    account_tokens,
    accounts,
    affiliations,
    audit_entries,
    emails,
    event_partners,
    event_staff,
    events,
    idempotency_keys,
    invitation_link_tokens,
    invitation_sessions,
    invitations,
    login_failures,
    mail_requests,
    organizations,
    outcomes,
    people,
    registrations,
    series,
    sessions,
    speakers,
    waitlist_counts,
);
