//! Reading JSON requests strictly: an object that repeats a key is refused.
//!
//! `serde_json` keeps the last of two equal keys without a word, so a request
//! such as `{"hyper": {"lr": 0.1, "lr": 10}}` would run with a learning rate its
//! author may not have meant. [`parse_unique`] reads the same JSON into the same
//! [`Value`], but refuses a repeated key, naming its path.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Parses `text` as one JSON value. A repeated key in any object is refused with
/// a message naming its path (`hyper.lr: the key appears twice ...`); any other
/// malformed input gives `malformed JSON: ...` with serde_json's position.
pub fn parse_unique(text: &str) -> Result<Value, String> {
    let duplicate = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = Unique {
        path: String::new(),
        duplicate: &duplicate,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v));
    parsed.map_err(|e| match duplicate.into_inner() {
        Some(path) => format!("{path}: the key appears twice; each key may appear once"),
        None => format!("malformed JSON: {e}"),
    })
}

/// A value being read at `path`; records the path of the first repeated key.
struct Unique<'a> {
    path: String,
    duplicate: &'a RefCell<Option<String>>,
}

impl Unique<'_> {
    fn child(&self, step: &str) -> Self {
        let path = if self.path.is_empty() || step.starts_with('[') {
            format!("{}{step}", self.path)
        } else {
            format!("{}.{step}", self.path)
        };
        Unique {
            path,
            duplicate: self.duplicate,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Unique<'_> {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Unique<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self.child(&format!("[{}]", items.len())))? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let child = self.child(&key);
            if object.contains_key(&key) {
                *self.duplicate.borrow_mut() = Some(child.path);
                return Err(de::Error::custom("a key appears twice"));
            }
            let value = map.next_value_seed(child)?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_key_is_refused_with_its_path() {
        let e = parse_unique(r#"{"hyper": {"lr": 0.1, "lr": 10}}"#).unwrap_err();
        assert!(e.starts_with("hyper.lr: the key appears twice"), "{e}");
        let e = parse_unique(r#"{"a": 1, "a": 1}"#).unwrap_err();
        assert!(e.starts_with("a: "), "{e}");
        let e = parse_unique(r#"{"x": [{"k": 1}, {"k": 2, "k": 3}]}"#).unwrap_err();
        assert!(e.starts_with("x[1].k: "), "{e}");
    }

    #[test]
    fn reads_what_serde_json_reads() {
        let text = r#"{"a": [1, -2, 0.1, 1e300, true, null, "s"], "b": {"c": {}}, "d": []}"#;
        assert_eq!(
            parse_unique(text).unwrap(),
            serde_json::from_str::<Value>(text).unwrap()
        );
        // Equal keys in different objects are not repeats.
        assert!(parse_unique(r#"{"a": {"k": 1}, "b": {"k": 1}}"#).is_ok());
        assert!(parse_unique("{").unwrap_err().starts_with("malformed JSON"));
        assert!(
            parse_unique("{} x")
                .unwrap_err()
                .starts_with("malformed JSON")
        );
        let deep = "[".repeat(100_000);
        assert!(
            parse_unique(&deep)
                .unwrap_err()
                .starts_with("malformed JSON")
        );
    }
}
