//! An organisation's descriptive fields (name, short name, kind, country, website) and the
//! application note: each parsed from what a client or a CSV row sent, and together checked
//! for consistency (a country where the kind needs one).

use chrono::NaiveDate;
use uuid::Uuid;

use crate::error::Validator;
use crate::organizations::model::{MembershipStatus, NewOrganization, OrganizationKind};
use crate::organizations::{CountryCode, WebsiteUrl};
use crate::text::{check_characters, Lines};

pub fn parse_org_name(raw: &str) -> Result<String, &'static str> {
    let name = raw.trim();
    if name.is_empty() {
        Err("must not be empty")
    } else if name.chars().count() > 300 {
        Err("must be at most 300 characters")
    } else {
        check_characters(name, Lines::Single)?;
        Ok(name.to_owned())
    }
}

pub fn parse_short_name(raw: &str) -> Result<Option<String>, &'static str> {
    let short = raw.trim();
    if short.is_empty() {
        Ok(None)
    } else if short.chars().count() > 50 {
        Err("must be at most 50 characters")
    } else {
        check_characters(short, Lines::Single)?;
        Ok(Some(short.to_owned()))
    }
}

pub fn parse_kind(raw: &str) -> Result<OrganizationKind, String> {
    raw.trim()
        .parse::<OrganizationKind>()
        .map_err(|e| e.to_string())
}

/// An optional country: blank is none.
pub fn parse_country(
    raw: &str,
) -> Result<Option<CountryCode>, crate::organizations::country::CountryCodeError> {
    if raw.trim().is_empty() {
        Ok(None)
    } else {
        CountryCode::parse(raw).map(Some)
    }
}

/// An optional website: blank is none.
pub fn parse_website(
    raw: &str,
) -> Result<Option<WebsiteUrl>, crate::organizations::website::WebsiteUrlError> {
    if raw.trim().is_empty() {
        Ok(None)
    } else {
        WebsiteUrl::parse(raw).map(Some)
    }
}

pub fn parse_note(raw: &str) -> Result<Option<String>, &'static str> {
    let note = raw.trim();
    if note.is_empty() {
        Ok(None)
    } else if note.chars().count() > 4000 {
        Err("must be at most 4000 characters")
    } else {
        check_characters(note, Lines::Multi)?;
        Ok(Some(note.to_owned()))
    }
}

pub(super) fn country_required_message(kind: OrganizationKind) -> String {
    format!(
        "is required for a {kind} organisation; only regional and international bodies may have none"
    )
}

/// The raw descriptive fields of an organisation, from JSON or a CSV row.
#[derive(Debug, Clone, Copy, Default)]
pub struct OrganizationFields<'a> {
    pub name: Option<&'a str>,
    pub short_name: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub country: Option<&'a str>,
    pub website: Option<&'a str>,
}

/// An organisation's descriptive fields, parsed and consistent (a country where one is due).
#[derive(Debug, Clone)]
pub struct OrganizationInput {
    pub name: String,
    pub short_name: Option<String>,
    pub kind: OrganizationKind,
    pub country: Option<CountryCode>,
    pub website: Option<WebsiteUrl>,
}

impl OrganizationInput {
    /// Records every bad field under `prefix` + its name (e.g. `line[4].country`); `None`
    /// when any was bad.
    pub fn parse(v: &mut Validator, fields: OrganizationFields<'_>, prefix: &str) -> Option<Self> {
        let name = match fields.name {
            Some(raw) => v.check(format!("{prefix}name"), parse_org_name(raw)),
            None => {
                v.add(format!("{prefix}name"), "is required");
                None
            }
        };
        let short_name = v.check(
            format!("{prefix}short_name"),
            parse_short_name(fields.short_name.unwrap_or_default()),
        );
        let kind = match fields.kind.filter(|k| !k.trim().is_empty()) {
            Some(raw) => v.check(format!("{prefix}kind"), parse_kind(raw)),
            None => {
                v.add(format!("{prefix}kind"), "is required");
                None
            }
        };
        let country = v.check(
            format!("{prefix}country"),
            parse_country(fields.country.unwrap_or_default()),
        );
        let website = v.check(
            format!("{prefix}website"),
            parse_website(fields.website.unwrap_or_default()),
        );
        if let (Some(kind), Some(None)) = (kind, &country) {
            if kind.requires_country() {
                v.add(format!("{prefix}country"), country_required_message(kind));
                return None;
            }
        }
        Some(OrganizationInput {
            name: name?,
            short_name: short_name?,
            kind: kind?,
            country: country?,
            website: website?,
        })
    }

    /// The row to insert for these fields with a membership status.
    pub fn into_new(
        self,
        status: MembershipStatus,
        joined_on: Option<NaiveDate>,
    ) -> NewOrganization {
        NewOrganization {
            id: Uuid::now_v7(),
            name: self.name,
            short_name: self.short_name,
            kind: self.kind,
            country: self.country.map(|c| c.as_str().to_owned()),
            website: self.website.map(|w| w.as_str().to_owned()),
            status,
            joined_on,
            contact_name: None,
            contact_email: None,
            application_note: None,
        }
    }
}
