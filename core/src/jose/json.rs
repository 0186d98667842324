//! Strict JSON: one pass through serde_json that rejects duplicate object keys (serde_json
//! silently keeps the last one) and nesting deeper than a bound, and produces a `Value`.
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::cell::Cell;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonError {
    Syntax,
    DuplicateKey,
    TooDeep,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JsonError::Syntax => "is not valid JSON",
            JsonError::DuplicateKey => "has a duplicate JSON key",
            JsonError::TooDeep => "is nested too deeply",
        })
    }
}

/// Parses `bytes` as one JSON value, nothing before or after it (a BOM is a syntax error).
pub fn parse_strict(bytes: &[u8], max_depth: usize) -> Result<Value, JsonError> {
    let failure = Cell::new(None);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let seed = Seed { depth: 0, max_depth, failure: &failure };
    let value = seed.deserialize(&mut de);
    match (value, failure.get()) {
        (_, Some(kind)) => Err(kind),
        (Err(_), None) => Err(JsonError::Syntax),
        (Ok(v), None) => {
            de.end().map_err(|_| JsonError::Syntax)?;
            Ok(v)
        }
    }
}

/// As [`parse_strict`], but the value must be an object.
pub fn parse_object(bytes: &[u8], max_depth: usize) -> Result<Map<String, Value>, JsonError> {
    match parse_strict(bytes, max_depth)? {
        Value::Object(m) => Ok(m),
        _ => Err(JsonError::Syntax),
    }
}

#[derive(Clone, Copy)]
struct Seed<'a> {
    depth: usize,
    max_depth: usize,
    failure: &'a Cell<Option<JsonError>>,
}

impl<'a> Seed<'a> {
    fn fail<E: de::Error>(&self, kind: JsonError) -> E {
        self.failure.set(Some(kind));
        E::custom(kind)
    }
    fn nested<E: de::Error>(&self) -> Result<Seed<'a>, E> {
        if self.depth + 1 > self.max_depth {
            return Err(self.fail(JsonError::TooDeep));
        }
        Ok(Seed { depth: self.depth + 1, ..*self })
    }
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
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
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v).map(Value::Number).ok_or_else(|| self.fail(JsonError::Syntax))
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
        let inner = self.nested()?;
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(inner)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let inner = self.nested()?;
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(self.fail(JsonError::DuplicateKey));
            }
            let v = map.next_value_seed(inner)?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, depth: usize) -> Result<Value, JsonError> {
        parse_strict(input.as_bytes(), depth)
    }

    #[test]
    fn table() {
        assert!(check(r#"{"a":1,"b":[1,2,{"c":null}]}"#, 3).is_ok());
        assert_eq!(check(r#"{"a":1,"a":2}"#, 4), Err(JsonError::DuplicateKey));
        assert_eq!(check(r#"{"x":{"a":1,"a":1}}"#, 4), Err(JsonError::DuplicateKey));
        assert_eq!(check(r#"{"a\u0062":1,"ab":2}"#, 4), Err(JsonError::DuplicateKey), "escaped duplicate");
        assert_eq!(check(r#"{"a":{"b":{}}}"#, 2), Err(JsonError::TooDeep));
        assert!(check(r#"{"a":{"b":{}}}"#, 3).is_ok());
        assert_eq!(check(r#"[[[[1]]]]"#, 3), Err(JsonError::TooDeep));
        assert_eq!(check("\u{feff}{}", 4), Err(JsonError::Syntax), "BOM");
        assert_eq!(check("{} x", 4), Err(JsonError::Syntax), "trailing garbage");
        assert!(check("{} \n", 4).is_ok(), "trailing whitespace is JSON");
        assert_eq!(check("{'a':1}", 4), Err(JsonError::Syntax));
        assert_eq!(check(r#"{"t":1.5e3}"#, 4).unwrap()["t"].as_f64(), Some(1500.0));
        assert_eq!(check(&"[".repeat(200), 16), Err(JsonError::TooDeep));
    }
}
