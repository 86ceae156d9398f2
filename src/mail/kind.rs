//! What caused an email. Written with each message (`emails.kind`), shown to staff beside it,
//! and how mail of one cause is found again (an invitation to resend, a reminder, a digest).

crate::text_enum! {
    pub enum EmailKind {
        AccountExists => "account_exists",
        EmailVerification => "email_verification",
        PasswordReset => "password_reset",
        PasswordChanged => "password_changed",
        OrganizationApplications => "organization_applications",
        OrganizationApproved => "organization_approved",
        OrganizationDeclined => "organization_declined",
        Invitation => "invitation",
        InvitationReminder => "invitation_reminder",
        InvitationAccepted => "invitation_accepted",
        InvitationDeclined => "invitation_declined",
        InvitationRevoked => "invitation_revoked",
        RegistrationConfirmRequest => "registration_confirm_request",
        RegistrationAlreadyRegistered => "registration_already_registered",
        RegistrationConfirmed => "registration_confirmed",
        RegistrationWaitlisted => "registration_waitlisted",
        RegistrationPromoted => "registration_promoted",
        RegistrationPendingApproval => "registration_pending_approval",
        RegistrationApproved => "registration_approved",
        RegistrationRejected => "registration_rejected",
        RegistrationCancelled => "registration_cancelled",
        ApprovalDigest => "approval_digest",
        SessionMoved => "session_moved",
        SessionReminder => "session_reminder",
        CalendarCancel => "calendar_cancel",
        EventCancelled => "event_cancelled",
    }
}
