//! Free text that people type (names, titles, descriptions): the one rule on which characters
//! it may hold, shared by every parser so an organisation name and a session title agree.
//!
//! PostgreSQL refuses NUL in `text`, and the other control characters are never meant: they come
//! from a paste gone wrong or a fuzzer, and would corrupt CSV exports, email headers and pages.

/// Whether line breaks and tabs are allowed (descriptions, messages) or not (names, titles).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    Single,
    Multi,
}

/// `Err` with a message fit for a field error when `text` holds a control character it may not.
pub fn check_characters(text: &str, lines: Lines) -> Result<(), &'static str> {
    let allowed = |c: char| lines == Lines::Multi && matches!(c, '\n' | '\r' | '\t');
    // Unicode's own line and paragraph separators are line breaks too, though not controls.
    let refused = |c: char| {
        (c.is_control() && !allowed(c))
            || (lines == Lines::Single && matches!(c, '\u{2028}' | '\u{2029}'))
    };
    if text.chars().any(refused) {
        Err(match lines {
            Lines::Single => "must not contain control characters or line breaks",
            Lines::Multi => "must not contain control characters other than line breaks and tabs",
        })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_refuse_every_control_character() {
        assert!(check_characters("Tokyo Dialogue – Session 2", Lines::Single).is_ok());
        for bad in [
            "a\0b",
            "a\nb",
            "\u{91}ag",
            "a\u{7f}",
            "x\u{c}",
            "a\u{2028}b",
        ] {
            assert!(check_characters(bad, Lines::Single).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn descriptions_keep_line_breaks_and_tabs_only() {
        assert!(check_characters("Line one\r\nLine\ttwo", Lines::Multi).is_ok());
        assert!(check_characters("a\0b", Lines::Multi).is_err());
        assert!(check_characters("a\u{1b}[31m", Lines::Multi).is_err());
    }
}
