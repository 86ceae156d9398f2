//! PATCH bodies: a key left out keeps a field as it is, `null` clears it. Fields read with
//! `#[serde(default, deserialize_with = "crate::patch::nullable")]` are `Option<Option<T>>`:
//! `None` when absent, `Some(None)` for `null`, `Some(Some(v))` for a value.

use serde::{Deserialize, Deserializer};

pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    #[derive(Debug, serde::Deserialize)]
    struct Patch {
        #[serde(default, deserialize_with = "super::nullable")]
        name: Option<Option<String>>,
    }

    #[test]
    fn absent_null_and_value_differ() {
        let read = |json: &str| serde_json::from_str::<Patch>(json).expect("json").name;
        assert_eq!(read("{}"), None);
        assert_eq!(read(r#"{"name": null}"#), Some(None));
        assert_eq!(read(r#"{"name": "x"}"#), Some(Some("x".to_owned())));
    }
}
