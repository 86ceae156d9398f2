//! Demo seed data: the first Japan National Dialogue on R2P and Atrocities
//! Prevention (18 February 2022), as reported in APR2P's "Spotlight on R2P"
//! (`shared/seed/japan-national-dialogue-2022.txt`), plus a fictional
//! upcoming edition and a few demo people.
//!
//! Pure data: no database code, no dependencies. Enumerated values are the
//! lower snake_case strings of the domain (see `DESIGN.md`); times are local
//! wall-clock times `YYYY-MM-DDTHH:MM` in the event's `timezone`.
//!
//! Corrections to typing slips in the report: "SIIS" is the SIIR, "Sofia
//! University" is Sophia University, "Institute of Development Economics" is
//! the Institute of Developing Economies (IDE-JETRO), and the "International
//! Court of Justice (ICC)" in the public seminar is the International Criminal
//! Court.

/// Honorifics used by the seed people and speakers.
pub const HONORIFICS: &[&str] = &["Prof.", "Dr", "Mr.", "Ms."];

/// A member (or named) organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedOrganization {
    pub name: &'static str,
    /// Acronym or usual short form; `None` when the name is used as is.
    pub short_name: Option<&'static str>,
    /// An [`crate::organizations::model::OrganizationKind`], as text.
    pub kind: &'static str,
    /// ISO 3166-1 alpha-2; `None` only for bodies without a single country.
    pub country: Option<&'static str>,
    /// Official website; `None` where not known with confidence.
    pub website: Option<&'static str>,
}

/// A recurring dialogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedSeries {
    pub name: &'static str,
    pub country: &'static str,
    pub description: &'static str,
}

/// An organisation's part in an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedPartner {
    /// Short name, or name when it has none, of an entry of [`ORGANIZATIONS`].
    pub organization: &'static str,
    /// A [`crate::events::model::PartnerRole`], as text.
    pub role: &'static str,
}

/// A speaker of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedSpeaker {
    /// One of [`HONORIFICS`].
    pub honorific: &'static str,
    /// Full name; the same person is in [`PEOPLE`] under this name.
    pub name: &'static str,
    /// Name or short name of an entry of [`ORGANIZATIONS`], as the report
    /// gives the affiliation.
    pub organization: &'static str,
    /// Position and affiliation in full, as the report gives them.
    pub position: &'static str,
    /// A [`crate::events::model::SpeakerRole`], as text.
    pub role: &'static str,
    /// 1-based order of appearance within the session.
    pub order: i32,
}

/// A session of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedSession {
    pub title: &'static str,
    pub description: &'static str,
    /// "closed" or "public".
    pub access: &'static str,
    /// Local time in the event's time zone, `YYYY-MM-DDTHH:MM`.
    pub starts_at: &'static str,
    /// Local time in the event's time zone, `YYYY-MM-DDTHH:MM`.
    pub ends_at: &'static str,
    /// `None` = unlimited.
    pub capacity: Option<i32>,
    pub chatham_house: bool,
    pub speakers: &'static [SeedSpeaker],
    /// Outcomes, one short paragraph each; unattributed for closed sessions.
    pub highlights: &'static [&'static str],
}

/// One edition of [`SERIES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedEvent {
    pub title: &'static str,
    pub slug: &'static str,
    pub summary: &'static str,
    pub country: &'static str,
    /// IANA time zone of the event; session times are local to it.
    pub timezone: &'static str,
    /// An [`crate::events::model::EventFormat`], as text.
    pub format: &'static str,
    pub venue: Option<&'static str>,
    pub online_url: Option<&'static str>,
    /// Local date, `YYYY-MM-DD`.
    pub date: &'static str,
    /// Suggested status: "completed" for a past edition, "published" for an
    /// upcoming one.
    pub status: &'static str,
    pub partners: &'static [SeedPartner],
    pub sessions: &'static [SeedSession],
    /// Whom participants write to: (name, email).
    pub contact: (&'static str, &'static str),
}

/// A contact, for invitations and speaker records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedPerson {
    /// One of [`HONORIFICS`].
    pub honorific: &'static str,
    pub name: &'static str,
    /// Unique, lower case, always at example.org.
    pub email: &'static str,
    pub position: &'static str,
    /// Short name, or name when it has none, of an entry of [`ORGANIZATIONS`].
    pub organization: &'static str,
    /// Whether the person is the organisation's focal point (demo assumption).
    pub focal_point: bool,
}

/// The organisations the report names. Left out on purpose, as they are not
/// organisations that take part in dialogues: groupings of states (Global
/// Network of R2P Focal Points, Group of Friends of R2P, ACT Group), missions
/// and commissions (International Monitoring Team in Mindanao, UNTAC, ICISS),
/// and organs of the UN (Security Council).
pub const ORGANIZATIONS: &[SeedOrganization] = &[
    // --- Government ---------------------------------------------------------
    SeedOrganization {
        name: "Ministry of Foreign Affairs of Japan",
        short_name: Some("MOFA"),
        kind: "government",
        country: Some("JP"),
        website: Some("https://www.mofa.go.jp/"),
    },
    SeedOrganization {
        name: "Japan International Cooperation Agency",
        short_name: Some("JICA"),
        kind: "government",
        country: Some("JP"),
        website: Some("https://www.jica.go.jp/"),
    },
    SeedOrganization {
        name: "Japan Self-Defense Forces",
        short_name: Some("JSDF"),
        kind: "government",
        country: Some("JP"),
        // The Ministry of Defense's site, which hosts the SDF's pages.
        website: Some("https://www.mod.go.jp/"),
    },
    SeedOrganization {
        name: "Australian Department of Foreign Affairs and Trade",
        short_name: Some("DFAT"),
        kind: "government",
        country: Some("AU"),
        website: Some("https://www.dfat.gov.au/"),
    },
    SeedOrganization {
        name: "Australian Embassy in Tokyo",
        short_name: None,
        kind: "government",
        country: Some("AU"),
        website: Some("https://japan.embassy.gov.au/"),
    },
    // --- Think tanks ----------------------------------------------------------
    SeedOrganization {
        name: "National Institute for Defense Studies",
        short_name: Some("NIDS"),
        kind: "think_tank",
        country: Some("JP"),
        website: Some("https://www.nids.mod.go.jp/"),
    },
    SeedOrganization {
        name: "JICA Ogata Sadako Research Institute for Peace and Development",
        short_name: Some("JICA Ogata Research Institute"),
        kind: "think_tank",
        country: Some("JP"),
        website: None,
    },
    SeedOrganization {
        name: "Institute of Developing Economies, Japan External Trade Organization",
        short_name: Some("IDE-JETRO"),
        kind: "think_tank",
        country: Some("JP"),
        website: Some("https://www.ide.go.jp/"),
    },
    SeedOrganization {
        name: "Japan Institute of International Affairs",
        short_name: Some("JIIA"),
        kind: "think_tank",
        country: Some("JP"),
        website: Some("https://www.jiia.or.jp/"),
    },
    // --- Other ----------------------------------------------------------------
    SeedOrganization {
        // A public-interest foundation that procures for Japan's ODA: neither a
        // government body nor an NGO.
        name: "Japan International Cooperation System",
        short_name: Some("JICS"),
        kind: "other",
        country: Some("JP"),
        website: Some("https://www.jics.or.jp/"),
    },
    SeedOrganization {
        // The network itself, whose secretariat is APR2P. A multi-stakeholder
        // alliance across the Asia-Pacific, hence no single country.
        name: "Asia Pacific Partnership for Atrocity Prevention",
        short_name: Some("APPAP"),
        kind: "other",
        country: None,
        website: Some("https://appap.group.uq.edu.au/"),
    },
    // --- Civil society --------------------------------------------------------
    SeedOrganization {
        // Named by the report among the closed sessions' participants; its
        // President, Prof. Hasegawa, gave opening remarks.
        name: "Global Peacebuilding Association of Japan",
        short_name: Some("GPAJ"),
        kind: "civil_society",
        country: Some("JP"),
        website: Some("https://gpaj.org/"),
    },
    SeedOrganization {
        // Co-organiser; an independent network (not a university body).
        name: "R2P Network of Japan",
        short_name: None,
        kind: "civil_society",
        country: Some("JP"),
        website: Some("https://r2p-jp.org/"),
    },
    // --- Academia -------------------------------------------------------------
    SeedOrganization {
        name: "Asia Pacific Centre for the Responsibility to Protect",
        short_name: Some("APR2P"),
        kind: "academia",
        country: Some("AU"),
        website: Some("https://r2pasiapacific.org/"),
    },
    SeedOrganization {
        name: "The University of Queensland",
        short_name: Some("UQ"),
        kind: "academia",
        country: Some("AU"),
        website: Some("https://www.uq.edu.au/"),
    },
    SeedOrganization {
        name: "Sophia Institute of International Relations",
        short_name: Some("SIIR"),
        kind: "academia",
        country: Some("JP"),
        website: None,
    },
    SeedOrganization {
        name: "Sophia University",
        short_name: None,
        kind: "academia",
        country: Some("JP"),
        website: Some("https://www.sophia.ac.jp/"),
    },
    SeedOrganization {
        name: "Institute for Asia Human Community, Waseda University",
        short_name: Some("AHC"),
        kind: "academia",
        country: Some("JP"),
        website: None,
    },
    SeedOrganization {
        name: "Waseda University",
        short_name: None,
        kind: "academia",
        country: Some("JP"),
        website: Some("https://www.waseda.jp/"),
    },
    SeedOrganization {
        name: "Osaka University",
        short_name: None,
        kind: "academia",
        country: Some("JP"),
        website: Some("https://www.osaka-u.ac.jp/"),
    },
    SeedOrganization {
        name: "Kyoto University of the Arts",
        short_name: None,
        kind: "academia",
        country: Some("JP"),
        website: Some("https://www.kyoto-art.ac.jp/"),
    },
    SeedOrganization {
        name: "J. F. Oberlin University",
        short_name: None,
        kind: "academia",
        country: Some("JP"),
        website: Some("https://www.obirin.ac.jp/"),
    },
    // --- Regional and international bodies ------------------------------------
    SeedOrganization {
        name: "Association of Southeast Asian Nations",
        short_name: Some("ASEAN"),
        kind: "regional_organization",
        country: None,
        website: Some("https://asean.org/"),
    },
    SeedOrganization {
        name: "United Nations",
        short_name: Some("UN"),
        kind: "international_organization",
        country: None,
        website: Some("https://www.un.org/"),
    },
    SeedOrganization {
        name: "United Nations Development Programme",
        short_name: Some("UNDP"),
        kind: "international_organization",
        country: None,
        website: Some("https://www.undp.org/"),
    },
    SeedOrganization {
        name: "Office of the United Nations High Commissioner for Human Rights",
        short_name: Some("OHCHR"),
        kind: "international_organization",
        country: None,
        website: Some("https://www.ohchr.org/"),
    },
    SeedOrganization {
        name: "International Criminal Court",
        short_name: Some("ICC"),
        kind: "international_organization",
        country: None,
        website: Some("https://www.icc-cpi.int/"),
    },
    SeedOrganization {
        name: "International Court of Justice",
        short_name: Some("ICJ"),
        kind: "international_organization",
        country: None,
        website: Some("https://www.icj-cij.org/"),
    },
];

/// The organisation whose short name or name is `key`.
pub fn find_organization(key: &str) -> Option<&'static SeedOrganization> {
    ORGANIZATIONS
        .iter()
        .find(|o| o.name == key || o.short_name == Some(key))
}

/// The person named `name` in [`PEOPLE`].
pub fn find_person(name: &str) -> Option<&'static SeedPerson> {
    PEOPLE.iter().find(|p| p.name == name)
}

pub const SERIES: SeedSeries = SeedSeries {
    name: "Japan National Dialogue on R2P and Atrocities Prevention",
    country: "JP",
    description: "A national dialogue that brings together Japanese government, \
        academia, think-tanks and civil society to revitalise research and \
        discussion on the Responsibility to Protect (R2P) and atrocity \
        prevention in the Japanese context: reconsidering the relationship \
        between R2P and human security, reviewing Japanese practice from an \
        R2P perspective, and sharing the outcomes with the public. Held within \
        the framework of the Asia Pacific Partnership for Atrocity Prevention.",
};

// --- Speakers -----------------------------------------------------------------

const HOSHINO_POSITION: &str = "Professor, School of International Public Policy, \
    Osaka University; former Ambassador and Deputy Permanent Representative of \
    Japan to the UN in New York";
const MORADA_POSITION: &str = "Director for Regional Diplomacy and Capacity \
    Building, APR2P, School of Political Science and International Studies, \
    The University of Queensland";

const HOSHINO: SeedSpeaker = SeedSpeaker {
    honorific: "Prof.",
    name: "Toshiya Hoshino",
    organization: "Osaka University",
    position: HOSHINO_POSITION,
    role: "opening_remarks",
    order: 1,
};
const MORADA: SeedSpeaker = SeedSpeaker {
    honorific: "Dr",
    name: "Noel M. Morada",
    organization: "Asia Pacific Centre for the Responsibility to Protect",
    position: MORADA_POSITION,
    role: "opening_remarks",
    order: 3,
};

/// Opening remarks of the whole Dialogue, given at the start of the first
/// closed session (the report attributes them, so they were on the record).
const JAPAN_2022_SESSION_1_SPEAKERS: &[SeedSpeaker] = &[
    HOSHINO,
    SeedSpeaker {
        honorific: "Mr.",
        name: "Greg Ralph",
        organization: "Australian Embassy in Tokyo",
        position: "Minister-Counsellor, Australian Embassy in Tokyo",
        role: "opening_remarks",
        order: 2,
    },
    MORADA,
    SeedSpeaker {
        honorific: "Prof.",
        name: "Sukehiro Hasegawa",
        organization: "Global Peacebuilding Association of Japan",
        position: "Distinguished Professor, Kyoto University of the Arts; \
            President, Global Peacebuilding Association of Japan; former \
            Special Representative of the UN Secretary-General for Timor-Leste",
        role: "opening_remarks",
        order: 4,
    },
];

const JAPAN_2022_PUBLIC_SPEAKERS: &[SeedSpeaker] = &[
    SeedSpeaker {
        order: 1,
        ..HOSHINO
    },
    SeedSpeaker { order: 2, ..MORADA },
    SeedSpeaker {
        honorific: "Prof.",
        name: "Daisaku Higashi",
        organization: "Sophia University",
        position: "Professor, Center for Global Education and Discovery, \
            Sophia University",
        role: "presenter",
        order: 3,
    },
    SeedSpeaker {
        honorific: "Prof.",
        name: "Misako Takizawa",
        organization: "J. F. Oberlin University",
        position: "Professor, College of Arts and Science, J. F. Oberlin University",
        role: "presenter",
        order: 4,
    },
    SeedSpeaker {
        honorific: "Prof.",
        name: "Yasuhiro Ueki",
        organization: "Sophia Institute of International Relations",
        position: "Vice Director, Sophia Institute of International Relations \
            (SIIR); Professor, Graduate School of Global Studies, Sophia University",
        role: "commentator",
        order: 5,
    },
];

// --- Highlights ---------------------------------------------------------------
// Closed sessions: rephrased without attribution to any person or organisation
// (Chatham House rule). The public seminar keeps the report's attribution.

const JAPAN_2022_SESSION_1_HIGHLIGHTS: &[&str] = &[
    "Bringing human security (HS) back under Pillar II of R2P is a possible avenue \
     for Japan to contribute to atrocity prevention. The two concepts share an \
     origin in UNDP's early advocacy of HS but were deliberately separated at the \
     UN; since then R2P has been criticised as state-centric and top-down, while \
     the more bottom-up notion of HS has faded as a UN policy idea.",
    "A human-centred, bottom-up approach based on HS would revitalise both R2P \
     and HS and balance R2P's top-down quality. It would make visible the gap \
     between those who protect and those who are protected, re-emphasise \
     prevention as central to R2P implementation, and allow Japan to take a \
     leadership role in implementing R2P through international assistance \
     under Pillar II.",
    "Pillar III has not been implemented successfully on the ground, but R2P as \
     a state-centric concept (the protector) and HS as a people-centric concept \
     (the protected) can be harmonised in a Pillar II atrocity-prevention \
     framework. Japan's participation in the International Monitoring Team of \
     the Mindanao peace process shows the synergy: Malaysia saw ceasefire \
     monitoring as Pillar II action, Japan took part under HS, and its \
     socio-economic components made the mission more effective.",
    "Three lessons follow from that case: Japan needs a clear narrative on HS's \
     place in Pillar II; the Development Cooperation Charter's broader notion of \
     \u{201c}development\u{201d} gives Japan room to contribute to Pillar II; and \
     Japan can promote the involvement of HS in Pillar II.",
    "Compared side by side, R2P covers genocide, war crimes, ethnic cleansing and \
     crimes against humanity, while HS covers security, development and human \
     rights. R2P works through prevention and protection, HS adds empowerment. \
     R2P envisages force only as a last resort and interference case by case; \
     HS envisages neither. R2P is top-down and state-centric, HS bottom-up and \
     human-centred.",
    "Japan was at first reluctant to join the Global Network of R2P Focal Points \
     and the Group of Friends of R2P, fearing that a politicised R2P would harm \
     HS. Having joined both, and especially since the UN General Assembly \
     resolution on HS of 2012, the government appears to accept R2P and to \
     engage in international efforts to implement it.",
    "R2P is already operationalised to a certain extent and has become a \
     standard \u{201c}language\u{201d}, for instance in Security Council \
     resolutions recalling host states' responsibility to protect civilians in \
     UN peacekeeping. Accountability matters as much as prevention: Japan \
     contributes as the largest funder of the ICC and a supporter of the ACT \
     Group's Code of Conduct.",
    "The UN Framework of Analysis for Atrocity Crimes can make the link between \
     R2P and HS concrete, setting out risk factors and indicators and the areas \
     where the two concepts complement each other. Countries in the region could \
     translate it into local languages and use it for capacity building. SDG 16 \
     and the ASEAN Declaration on Culture of Prevention are further reference \
     points.",
    "Open questions remain: broadening R2P beyond the four crimes; the limits of \
     Japanese leadership on R2P as opposed to HS; the responsibility of a global \
     community of citizens rather than of states; and how R2P can interact with \
     HS and the protection of civilians (POC) while staying distinct. Ongoing \
     crises such as Myanmar and Afghanistan should be taken up in dialogues like \
     this one, as academia is the last recourse to address atrocity crimes.",
];

const JAPAN_2022_SESSION_2_HIGHLIGHTS: &[&str] = &[
    "Japan's support for local conflict prevention in Timor-Leste illustrates a \
     bottom-up approach: the Japanese government and NGOs backed a dialogue \
     mechanism initiated by local actors, though their involvement was mostly \
     financial and indirect. The case shows R2P and HS as complementary: R2P \
     stresses engagement to avert a particular situation, HS guides how various \
     actors can take part.",
    "Japan has focused on a \u{201c}responsibility to rebuild\u{201d} by \
     non-military means, but could also combine Pillars I and II to strengthen \
     each state's responsibility through capacity building. The Japanese public \
     distinguishes poorly between development and peacebuilding and tends to \
     support peacebuilding for moral rather than security reasons; engagement \
     in R2P needs civil actors' long-term commitment, grounded in a deeper \
     understanding of conflict prevention and peacebuilding.",
    "Japan uses HS as a diplomatic tool but is less active in operationalising \
     it, and keeps it apart from human rights and international humanitarian \
     law. This makes HS a possible entry point with countries uncomfortable with \
     human-rights language, and a lens for identifying atrocity risks. R2P's \
     strength is its call on the international community's \
     \u{201c}responsibility\u{201d} to respond urgently (Pillar III); its \
     often-criticised top-down nature also lets states cooperate and act quickly \
     in emergencies.",
    "R2P and HS are complementary but have different focuses, and combining them \
     could weaken both. POC shares R2P's orientation but speaks a more \
     operational, robust language in peace operations and may suit Japanese \
     diplomacy less than HS. The concepts can be used side by side to \
     understand different phenomena but should be carefully distinguished.",
    "The Self-Defense Forces' \u{201c}Engineering Peace\u{201d} activities \
     (road repair, land reclamation, construction of facilities), carried out \
     mainly by Ground SDF engineering units in support of UN peacekeeping and \
     multinational forces, began with UNTAC in Cambodia in 1992 and continued in \
     Timor-Leste, Haiti and South Sudan. They are not directly related to POC but \
     support Pillar II, as does capacity-building assistance to Asian and \
     African partners.",
    "From that experience: \u{201c}defence of the mandate\u{201d} and POC would be \
     new frontiers for the SDF; timely dispatch needs a permanent rather than an \
     ad hoc law, and education and training for R2P implementation; deployments \
     should be longer and sustainable, based on an \u{201c}All Japan\u{201d} \
     comprehensive and seamless approach and a network of capacity-building \
     projects. The impact of engineering activities on R2P remains to be seen.",
    "The community policing system (\u{201c}Koban\u{201d}) introduced in \
     Timor-Leste exemplifies a bottom-up way to implement R2P. Its Community \
     Policing Council, one government officer and many community members, keeps \
     a balance against central control and is oriented to minimising the risk \
     of social conflict among community members.",
    "In situations like Myanmar, R2P's strength is to call on the responsibility, \
     not the moral empathy, of the international community to react rapidly. POC \
     operations grounded in HS concerns could be a practical pathway to R2P's \
     objectives in countries wary of R2P or not yet experiencing atrocities, and \
     a POC\u{2013}HS nexus could make HS activities more accountable and \
     measurable. The Asia Pacific Partnership for Atrocity Prevention is a \
     bottom-up regional arena in which governments, regional organisations and \
     civil society jointly promote R2P and atrocity prevention.",
];

const JAPAN_2022_PUBLIC_HIGHLIGHTS: &[&str] = &[
    "Prof. Daisaku Higashi asked whether the scope of R2P could be broadened \
     beyond the 2005 World Summit definition: not to change that definition, \
     but to reinvigorate R2P's original spirit of protecting people from fatal \
     threats. The 2001 ICISS report included internal conflicts and other \
     man-made crises, whereas in 2005 R2P was limited to four atrocity crimes, \
     a definition some criticise as too narrow.",
    "Prof. Higashi recalled the redefinition of human security proposed in his \
     edited book, a \u{201c}concept guiding policies of the international \
     community to protect people when a state cannot protect them from various \
     global threats\u{201d}, which largely overlaps with the spirit of R2P. \
     Discussing concrete cases on that basis, such as COVID-19 and Afghanistan, \
     could revitalise R2P, and Japan could be a \u{201c}global \
     facilitator\u{201d} of the global discussion on R2P and HS.",
    "Prof. Misako Takizawa explained, from the perspective of international law, \
     how the \u{201c}responsibility to prevent\u{201d} relates to human rights \
     protection in UN field operations. R2P rests legally on existing human \
     rights treaties, drafted mainly for peacetime, so realising them in field \
     operations has been a major challenge. Since the 1990s UN organs have built \
     human rights into mandates and field missions, through more regional \
     offices of the High Commissioner for Human Rights, human rights advisers \
     and human rights mandates for peacekeeping missions, and the Office has \
     come to be called the world's \u{201c}emergency human rights \
     first-responder\u{201d}.",
    "Human rights protection thus resonates with the responsibility to prevent \
     in field operations, especially the responsibility of host states and \
     international assistance. Japan could contribute to R2P through \
     state-building assistance, such as strengthening domestic human rights \
     bodies and legislation, including criminal law and procedure against \
     atrocity crimes.",
    "Commenting, Prof. Yasuhiro Ueki noted that HS shares with the SDGs a basic \
     perspective of protecting vulnerable people and communities and promoting \
     civilian engagement, which makes both readily acceptable to Japan. The UN \
     has developed organisations and mechanisms to prevent and respond to grave \
     human rights violations; the development of international justice, such as \
     the International Criminal Court, and the case on the suspected genocide of \
     the Rohingya in Myanmar before the International Court of Justice, offer a \
     prospect of fulfilling the responsibility to prevent.",
    "Yet UN member governments often regard the international community's human \
     rights appeals as interference in their domestic affairs, and in recent \
     years countries such as Russia and China have hardened their stance against \
     international engagement on human rights, making the UN's human rights \
     mechanisms harder to operate.",
];

// --- Events -------------------------------------------------------------------

pub const JAPAN_2022: SeedEvent = SeedEvent {
    title: "Japan: First National Dialogue on R2P and Atrocities Prevention",
    slug: "japan-national-dialogue-2022",
    summary: "The first Japan National Dialogue on the Responsibility to Protect \
        (R2P) and Atrocities Prevention was held online on 18 February 2022, \
        organised by APR2P with the Sophia Institute of International Relations \
        and the R2P Network of Japan and supported by the Institute for Asia \
        Human Community of Waseda University. Two closed sessions brought \
        together over 30 professionals from government, academia, think-tanks \
        and civil society to reconsider the ambivalent relationship between R2P \
        and human security and Japan's own practice. A public seminar followed \
        for around 100 participants on R2P and Japan's role in responding to \
        humanitarian crises and atrocity crimes.",
    country: "JP",
    timezone: "Asia/Tokyo",
    // Held online because of the rapid spread of COVID-19 in Japan.
    format: "online",
    venue: None,
    // Placeholder: the real link was never public.
    online_url: Some("https://example.org/convene/japan-national-dialogue-2022/online"),
    date: "2022-02-18",
    status: "completed",
    partners: &[
        SeedPartner {
            organization: "APR2P",
            role: "organizer",
        },
        SeedPartner {
            organization: "SIIR",
            role: "co_organizer",
        },
        SeedPartner {
            organization: "R2P Network of Japan",
            role: "co_organizer",
        },
        SeedPartner {
            organization: "AHC",
            role: "supporter",
        },
        // The report thanks DFAT (whose embassy gave opening remarks) for the
        // dialogue; recorded as its funder.
        SeedPartner {
            organization: "DFAT",
            role: "funder",
        },
    ],
    // The report gives the date but no times: all times below are ASSUMED
    // (closed sessions morning and early afternoon, public seminar later).
    // Capacities: "over 30 professionals" in the closed sessions, "around 100
    // participants" in the public seminar.
    sessions: &[
        SeedSession {
            title: "Vitalizing R2P in the Japanese Context: Reconsideration of the \
                ambivalent relation between R2P and HS",
            description: "Closed session, opened by the Dialogue's opening \
                remarks, reconsidering the ambivalent relationship between R2P \
                and human security (HS), the flagship concept of Japanese \
                diplomacy, and searching for common ground to revitalise R2P \
                research and discussion in Japan.",
            access: "closed",
            starts_at: "2022-02-18T09:30",
            ends_at: "2022-02-18T12:00",
            capacity: Some(35),
            chatham_house: true,
            speakers: JAPAN_2022_SESSION_1_SPEAKERS,
            highlights: JAPAN_2022_SESSION_1_HIGHLIGHTS,
        },
        SeedSession {
            title: "Implementing R2P in the Japanese way: Reconsideration of \
                Japanese praxis and its role between the past and future",
            description: "Closed session reviewing Japanese practice (development \
                cooperation, peacebuilding, Self-Defense Forces engineering units, \
                community policing) from an R2P perspective, and discussing \
                challenges, roles and practical solutions for Japan to implement \
                R2P now and in the future.",
            access: "closed",
            starts_at: "2022-02-18T13:00",
            ends_at: "2022-02-18T15:00",
            capacity: Some(35),
            chatham_house: true,
            // Presenters and discussants are not named (Chatham House rule).
            speakers: &[],
            highlights: JAPAN_2022_SESSION_2_HIGHLIGHTS,
        },
        SeedSession {
            title: "R2P and Japan's Role in Responding to Humanitarian Crises and \
                Atrocity Crimes",
            description: "Public online seminar after the closed sessions, to \
                promote public understanding and nationwide discussion on R2P \
                and Japan's role in responding to humanitarian crises and \
                atrocity crimes.",
            access: "public",
            starts_at: "2022-02-18T16:00",
            ends_at: "2022-02-18T18:00",
            capacity: Some(100),
            chatham_house: false,
            speakers: JAPAN_2022_PUBLIC_SPEAKERS,
            highlights: JAPAN_2022_PUBLIC_HIGHLIGHTS,
        },
    ],
    contact: ("Partnership Secretariat", "secretariat@example.org"),
};

/// FICTIONAL demo data: an upcoming edition so that the front page is not
/// empty. The title carries no ordinal on purpose (real editions may have been
/// held between 2022 and 2027); dates, times, venue, sessions and partners are
/// invented, and no real person is listed as a speaker.
pub const JAPAN_2027: SeedEvent = SeedEvent {
    title: "Japan: National Dialogue on R2P and Atrocities Prevention 2027",
    slug: "japan-national-dialogue-2027",
    summary: "The Japan National Dialogue on R2P and Atrocities Prevention \
        returns as a hybrid meeting in Tokyo. A closed session for invited \
        professionals from government, academia, think-tanks and civil society \
        will take stock of Japan's contribution to atrocity prevention through \
        human security and development cooperation, followed by a public seminar \
        open to all.",
    country: "JP",
    timezone: "Asia/Tokyo",
    format: "hybrid",
    venue: Some("Sophia University, Yotsuya Campus, 7-1 Kioicho, Chiyoda-ku, Tokyo"),
    online_url: Some("https://example.org/convene/japan-national-dialogue-2027/online"),
    date: "2027-02-19",
    status: "published",
    partners: &[
        SeedPartner {
            organization: "APR2P",
            role: "organizer",
        },
        SeedPartner {
            organization: "SIIR",
            role: "co_organizer",
        },
        SeedPartner {
            organization: "R2P Network of Japan",
            role: "co_organizer",
        },
        SeedPartner {
            organization: "AHC",
            role: "supporter",
        },
        SeedPartner {
            organization: "DFAT",
            role: "funder",
        },
    ],
    sessions: &[
        SeedSession {
            title: "Human Security, Development Cooperation and Atrocity \
                Prevention: Taking Stock of Japan's Practice",
            description: "Closed session for invited participants on how Japan's \
                human security approach and development cooperation can support \
                atrocity prevention under Pillar II of R2P, and on practical \
                next steps for Japanese actors in the Asia-Pacific.",
            access: "closed",
            starts_at: "2027-02-19T10:00",
            ends_at: "2027-02-19T12:30",
            capacity: Some(30),
            chatham_house: true,
            speakers: &[],
            highlights: &[],
        },
        SeedSession {
            title: "Public Seminar: Protecting People from Atrocity Crimes: \
                What Can Japan Do?",
            description: "Public seminar, in person at Sophia University and \
                online, on R2P, human security and Japan's role in responding to \
                humanitarian crises and atrocity crimes in the Asia-Pacific and \
                beyond.",
            access: "public",
            starts_at: "2027-02-19T14:00",
            ends_at: "2027-02-19T16:30",
            capacity: Some(100),
            chatham_house: false,
            speakers: &[],
            highlights: &[],
        },
    ],
    contact: ("Partnership Secretariat", "secretariat@example.org"),
};

/// Every seed event, oldest first.
pub const EVENTS: &[SeedEvent] = &[JAPAN_2022, JAPAN_2027];

// --- People -------------------------------------------------------------------

/// The speakers of 2022 (real people, with the positions the report gives),
/// then FICTIONAL participants from the listed organisations. Emails are all
/// at example.org. Focal-point flags are demo assumptions.
pub const PEOPLE: &[SeedPerson] = &[
    // Real speakers of the 2022 Dialogue.
    SeedPerson {
        honorific: "Prof.",
        name: "Toshiya Hoshino",
        email: "hoshino@example.org",
        position: HOSHINO_POSITION,
        organization: "Osaka University",
        focal_point: false,
    },
    SeedPerson {
        honorific: "Mr.",
        name: "Greg Ralph",
        email: "ralph@example.org",
        position: "Minister-Counsellor",
        organization: "Australian Embassy in Tokyo",
        focal_point: false,
    },
    SeedPerson {
        honorific: "Dr",
        name: "Noel M. Morada",
        email: "morada@example.org",
        position: MORADA_POSITION,
        organization: "APR2P",
        focal_point: true,
    },
    SeedPerson {
        honorific: "Prof.",
        name: "Sukehiro Hasegawa",
        email: "hasegawa@example.org",
        position: "President; Distinguished Professor, Kyoto University of the Arts",
        organization: "GPAJ",
        focal_point: true,
    },
    SeedPerson {
        honorific: "Prof.",
        name: "Daisaku Higashi",
        email: "higashi@example.org",
        position: "Professor, Center for Global Education and Discovery",
        organization: "Sophia University",
        focal_point: false,
    },
    SeedPerson {
        honorific: "Prof.",
        name: "Misako Takizawa",
        email: "takizawa@example.org",
        position: "Professor, College of Arts and Science",
        organization: "J. F. Oberlin University",
        focal_point: false,
    },
    SeedPerson {
        honorific: "Prof.",
        name: "Yasuhiro Ueki",
        email: "ueki@example.org",
        position: "Vice Director; Professor, Graduate School of Global Studies, \
            Sophia University",
        organization: "SIIR",
        focal_point: true,
    },
    // FICTIONAL participants (invented names and positions).
    SeedPerson {
        honorific: "Ms.",
        name: "Yuko Sato",
        email: "sato@example.org",
        position: "Deputy Director, Human Rights and Humanitarian Affairs Division",
        organization: "MOFA",
        focal_point: true,
    },
    SeedPerson {
        honorific: "Mr.",
        name: "Kenta Watanabe",
        email: "watanabe@example.org",
        position: "Research Fellow",
        organization: "NIDS",
        focal_point: false,
    },
    SeedPerson {
        honorific: "Ms.",
        name: "Haruka Kobayashi",
        email: "kobayashi@example.org",
        position: "Programme Officer, Governance and Peacebuilding Department",
        organization: "JICA",
        focal_point: true,
    },
    SeedPerson {
        honorific: "Dr",
        name: "Takeshi Yamamoto",
        email: "yamamoto@example.org",
        position: "Research Fellow",
        organization: "JICA Ogata Research Institute",
        focal_point: false,
    },
    SeedPerson {
        honorific: "Ms.",
        name: "Mei Nakamura",
        email: "nakamura@example.org",
        position: "Research Fellow",
        organization: "IDE-JETRO",
        focal_point: false,
    },
    SeedPerson {
        honorific: "Mr.",
        name: "Daiki Ito",
        email: "ito@example.org",
        position: "Research Fellow",
        organization: "JIIA",
        focal_point: false,
    },
    SeedPerson {
        honorific: "Ms.",
        name: "Emi Suzuki",
        email: "suzuki@example.org",
        position: "Programme Officer",
        organization: "JICS",
        focal_point: false,
    },
    SeedPerson {
        honorific: "Ms.",
        name: "Rina Kato",
        email: "kato@example.org",
        position: "Research Associate",
        organization: "AHC",
        focal_point: true,
    },
    SeedPerson {
        honorific: "Mr.",
        name: "Sho Mori",
        email: "mori@example.org",
        position: "Coordinator",
        organization: "R2P Network of Japan",
        focal_point: true,
    },
    SeedPerson {
        honorific: "Ms.",
        name: "Aiko Tanaka",
        email: "tanaka@example.org",
        position: "Research Assistant",
        organization: "SIIR",
        focal_point: false,
    },
    SeedPerson {
        honorific: "Ms.",
        name: "Sarah Mitchell",
        email: "mitchell@example.org",
        position: "Second Secretary (Political)",
        organization: "Australian Embassy in Tokyo",
        focal_point: true,
    },
    SeedPerson {
        honorific: "Mr.",
        name: "Rizal Santoso",
        email: "santoso@example.org",
        position: "Officer, ASEAN Political-Security Community Department",
        organization: "ASEAN",
        focal_point: false,
    },
    SeedPerson {
        honorific: "Ms.",
        name: "Olivia Chen",
        email: "chen@example.org",
        position: "Programme Officer, APPAP Secretariat",
        organization: "APPAP",
        focal_point: true,
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::model::{EventFormat, PartnerRole, SessionAccess, SpeakerRole};
    use crate::organizations::model::OrganizationKind;
    use crate::organizations::CountryCode;

    fn is_country(code: &str) -> bool {
        CountryCode::parse(code).is_ok_and(|c| c.as_str() == code)
    }

    fn number(s: &str) -> Option<u32> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    }

    /// `YYYY-MM-DD`, roughly valid.
    fn is_date(s: &str) -> bool {
        let b = s.as_bytes();
        s.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && number(&s[0..4]).is_some()
            && number(&s[5..7]).is_some_and(|m| (1..=12).contains(&m))
            && number(&s[8..10]).is_some_and(|d| (1..=31).contains(&d))
    }

    /// `YYYY-MM-DDTHH:MM`, roughly valid.
    fn is_local_time(s: &str) -> bool {
        let b = s.as_bytes();
        s.len() == 16
            && is_date(&s[0..10])
            && b[10] == b'T'
            && b[13] == b':'
            && number(&s[11..13]).is_some_and(|h| h < 24)
            && number(&s[14..16]).is_some_and(|m| m < 60)
    }

    #[test]
    fn organisations_are_well_formed() {
        for o in ORGANIZATIONS {
            assert!(
                o.kind.parse::<OrganizationKind>().is_ok(),
                "kind of {}",
                o.name
            );
            match o.country {
                Some(c) => assert!(is_country(c), "country of {}", o.name),
                None => assert!(
                    matches!(
                        o.kind,
                        "regional_organization" | "international_organization" | "other"
                    ),
                    "{} has no country but is {}",
                    o.name,
                    o.kind
                ),
            }
            if let Some(w) = o.website {
                assert!(w.starts_with("https://") && w.ends_with('/'), "{w}");
            }
            assert!(!o.name.trim().is_empty());
        }
        assert!(ORGANIZATIONS
            .iter()
            .any(|o| o.kind == "regional_organization" && o.country.is_none()));
    }

    #[test]
    fn organisation_keys_are_unambiguous() {
        let mut keys: Vec<&str> = ORGANIZATIONS
            .iter()
            .flat_map(|o| std::iter::once(o.name).chain(o.short_name))
            .collect();
        let n = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), n, "a name or short name is used twice");
    }

    #[test]
    fn required_organisations_are_present() {
        for key in [
            "MOFA",
            "NIDS",
            "JICA",
            "JICA Ogata Research Institute",
            "IDE-JETRO",
            "JIIA",
            "JICS",
            "GPAJ",
            "SIIR",
            "APR2P",
            "R2P Network of Japan",
            "AHC",
            "DFAT",
            "Australian Embassy in Tokyo",
            "ASEAN",
            "APPAP",
            "Osaka University",
            "Sophia University",
            "Waseda University",
            "Kyoto University of the Arts",
            "J. F. Oberlin University",
            "The University of Queensland",
        ] {
            assert!(find_organization(key).is_some(), "missing {key}");
        }
        assert_eq!(find_organization("JIIA").unwrap().kind, "think_tank");
        assert_eq!(find_organization("JICA").unwrap().kind, "government");
        assert_eq!(find_organization("AHC").unwrap().kind, "academia");
        assert_eq!(find_organization("DFAT").unwrap().country, Some("AU"));
        assert_eq!(find_organization("APR2P").unwrap().country, Some("AU"));
    }

    #[test]
    fn series_is_well_formed() {
        assert!(is_country(SERIES.country));
        assert!(!SERIES.description.is_empty());
    }

    #[test]
    fn events_are_well_formed() {
        for e in EVENTS {
            assert!(is_country(e.country));
            assert_eq!(e.country, SERIES.country);
            assert_eq!(e.timezone, "Asia/Tokyo");
            assert!(e.format.parse::<EventFormat>().is_ok());
            assert!(is_date(e.date), "{}", e.date);
            assert!(matches!(e.status, "completed" | "published"));
            assert!(e
                .slug
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
            assert!(!e.summary.is_empty() && !e.title.is_empty());
            match e.format {
                "online" => assert!(e.venue.is_none() && e.online_url.is_some()),
                "hybrid" => assert!(e.venue.is_some() && e.online_url.is_some()),
                _ => assert!(e.venue.is_some()),
            }
            assert!(!e.partners.is_empty());
            for p in e.partners {
                assert!(p.role.parse::<PartnerRole>().is_ok(), "{}", p.role);
                assert!(
                    find_organization(p.organization).is_some(),
                    "{}",
                    p.organization
                );
            }
            assert_eq!(
                e.partners.iter().filter(|p| p.role == "organizer").count(),
                1
            );
            assert!(!e.sessions.is_empty());
            for s in e.sessions {
                assert!(s.access.parse::<SessionAccess>().is_ok(), "{}", s.access);
                assert!(!s.title.is_empty() && !s.description.is_empty());
                assert!(is_local_time(s.starts_at), "{}", s.starts_at);
                assert!(is_local_time(s.ends_at), "{}", s.ends_at);
                // Same format, so the strings order like the times.
                assert!(s.starts_at < s.ends_at, "{}", s.title);
                assert!(s.starts_at.starts_with(e.date));
                assert!(s.capacity.is_none_or(|c| c > 0));
                if s.access == "closed" {
                    assert!(s.chatham_house, "closed session without Chatham House");
                }
                let mut orders: Vec<i32> = s.speakers.iter().map(|sp| sp.order).collect();
                let n = orders.len();
                orders.sort_unstable();
                orders.dedup();
                assert_eq!(orders.len(), n, "duplicate speaker order in {}", s.title);
                for sp in s.speakers {
                    assert!(sp.role.parse::<SpeakerRole>().is_ok(), "{}", sp.role);
                    assert!(HONORIFICS.contains(&sp.honorific), "{}", sp.honorific);
                    assert!(sp.order >= 1);
                    assert!(
                        find_organization(sp.organization).is_some(),
                        "{}",
                        sp.organization
                    );
                    assert!(find_person(sp.name).is_some(), "{} not in PEOPLE", sp.name);
                }
            }
            // Sessions in chronological order, not overlapping.
            for w in e.sessions.windows(2) {
                assert!(w[0].ends_at <= w[1].starts_at);
            }
        }
    }

    #[test]
    fn japan_2022_matches_the_report() {
        let e = &JAPAN_2022;
        assert_eq!(e.format, "online");
        assert_eq!(e.date, "2022-02-18");
        let closed = e.sessions.iter().filter(|s| s.access == "closed").count();
        let public = e.sessions.iter().filter(|s| s.access == "public").count();
        assert_eq!((closed, public), (2, 1));
        for s in e.sessions {
            assert!(!s.highlights.is_empty(), "{} has no highlights", s.title);
        }
        let role_of = |surname: &str| -> Vec<&str> {
            e.sessions
                .iter()
                .flat_map(|s| s.speakers.iter())
                .filter(|sp| sp.name.ends_with(surname))
                .map(|sp| sp.role)
                .collect()
        };
        for name in ["Hoshino", "Ralph", "Morada", "Hasegawa"] {
            assert!(role_of(name).contains(&"opening_remarks"), "{name}");
        }
        assert_eq!(role_of("Higashi"), ["presenter"]);
        assert_eq!(role_of("Takizawa"), ["presenter"]);
        assert_eq!(role_of("Ueki"), ["commentator"]);
        let partner = |key: &str| {
            e.partners
                .iter()
                .find(|p| p.organization == key)
                .unwrap()
                .role
        };
        assert_eq!(partner("APR2P"), "organizer");
        assert_eq!(partner("SIIR"), "co_organizer");
        assert_eq!(partner("R2P Network of Japan"), "co_organizer");
        assert_eq!(partner("AHC"), "supporter");
        assert_eq!(partner("DFAT"), "funder");
    }

    #[test]
    fn closed_highlights_attribute_nobody() {
        let names: Vec<&str> = EVENTS
            .iter()
            .flat_map(|e| e.sessions.iter())
            .flat_map(|s| s.speakers.iter())
            .filter_map(|sp| sp.name.rsplit(' ').next())
            .chain(["APR2P", "Prof.", "Professor", "Dr ", "Mr.", "Ms."])
            .collect();
        for s in EVENTS.iter().flat_map(|e| e.sessions.iter()) {
            if s.access != "closed" {
                continue;
            }
            for h in s.highlights {
                for n in &names {
                    assert!(!h.contains(n), "closed highlight names {n}: {h}");
                }
            }
        }
    }

    #[test]
    fn japan_2027_is_upcoming_and_hybrid() {
        let e = &JAPAN_2027;
        assert!(e.date.starts_with("2027-"));
        assert_eq!(e.format, "hybrid");
        assert!(e.sessions.iter().any(|s| s.access == "closed"));
        assert!(e.sessions.iter().any(|s| s.access == "public"));
        assert!(e.sessions.iter().all(|s| s.highlights.is_empty()));
        assert_ne!(e.slug, JAPAN_2022.slug);
    }

    #[test]
    fn people_are_well_formed() {
        let mut emails: Vec<&str> = PEOPLE.iter().map(|p| p.email).collect();
        let n = emails.len();
        emails.sort_unstable();
        emails.dedup();
        assert_eq!(emails.len(), n, "duplicate email");
        let mut names: Vec<&str> = PEOPLE.iter().map(|p| p.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "duplicate name");
        for p in PEOPLE {
            assert!(HONORIFICS.contains(&p.honorific), "{}", p.honorific);
            assert!(p.email.ends_with("@example.org"), "{}", p.email);
            assert_eq!(p.email, p.email.to_lowercase());
            assert!(
                find_organization(p.organization).is_some(),
                "{}",
                p.organization
            );
            assert!(!p.position.is_empty());
        }
    }
}
