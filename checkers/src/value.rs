//! [`Value`]: the data an operation carries (arguments, results, keys).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A small, EDN-like value: what an operation reads, writes or is keyed by.
///
/// Floats have no variant of their own, so that values are totally ordered and hashable (model
/// states are memoized by hash): they, and the other EDN scalars a history may carry, are a
/// [`Value::Literal`] holding their canonical EDN text.
///
/// JSON form: `null`, booleans, integers, strings and arrays map to themselves; a keyword is
/// `{"keyword": "name"}`, a literal `{"edn": "text"}` and a map is
/// `{"map": [[key, value], ...]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Value {
    /// No value (`nil` in EDN, `null` in JSON).
    #[default]
    Nil,
    /// A boolean.
    Bool(bool),
    /// A signed 64-bit integer.
    Int(i64),
    /// A string.
    String(String),
    /// An EDN keyword, without its leading colon (`:timed-out` is `Keyword("timed-out")`).
    Keyword(String),
    /// A vector, list or set, in order.
    List(Vec<Value>),
    /// A map.
    Map(BTreeMap<Value, Value>),
    /// Any other EDN scalar, as its canonical EDN text: a float (`1.5`; `1e3` reads as
    /// `1000.0`), a ratio in lowest terms (`2/6` reads as `1/3`), an integer too big for 64
    /// bits (`...N`), a decimal (`1.5M`), a character (`\a`, `\newline`) or a symbol
    /// (`foo`). Two literals are equal when their canonical texts are.
    Literal(String),
}

impl Value {
    /// Whether this is [`Value::Nil`].
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// The integer, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The keyword's name (without colon), if this is a keyword.
    pub fn as_keyword(&self) -> Option<&str> {
        match self {
            Value::Keyword(k) => Some(k),
            _ => None,
        }
    }

    /// The elements, if this is a list.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(items) => Some(items),
            _ => None,
        }
    }

    /// Looks up a keyword key (given without colon) in a map value.
    pub fn get_keyword(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(map) => map.get(&Value::Keyword(key.to_owned())),
            _ => None,
        }
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Self {
        Value::List(items)
    }
}

/// Writes the value as EDN (`nil`, `3`, `"s"`, `:k`, `[1 2]`, `{:a 1}`).
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => f.write_str("nil"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::String(s) => write_edn_string(f, s),
            Value::Keyword(k) => write!(f, ":{k}"),
            Value::Literal(text) => f.write_str(text),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Value::Map(map) => {
                f.write_str("{")?;
                for (i, (k, v)) in map.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k} {v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

/// Writes `s` as an EDN string literal, escaping what must be escaped.
pub(crate) fn write_edn_string(f: &mut impl fmt::Write, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            '\r' => f.write_str("\\r")?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Nil => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Int(i) => serializer.serialize_i64(*i),
            Value::String(s) => serializer.serialize_str(s),
            Value::Keyword(k) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("keyword", k)?;
                map.end()
            }
            Value::Literal(text) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("edn", text)?;
                map.end()
            }
            Value::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Map(entries) => {
                let pairs: Vec<(&Value, &Value)> = entries.iter().collect();
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("map", &pairs)?;
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "null, a boolean, an integer, a string, an array, {\"keyword\": ..} or {\"map\": ..}",
        )
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Int(i))
    }

    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Value, E> {
        i64::try_from(u)
            .map(Value::Int)
            .map_err(|_| E::custom(format!("integer {u} does not fit in 64 signed bits")))
    }

    fn visit_f64<E: de::Error>(self, x: f64) -> Result<Value, E> {
        Err(E::custom(format!(
            "floating-point value {x} is not supported"
        )))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let Some(tag) = map.next_key::<String>()? else {
            return Err(de::Error::custom("an empty object is not a value"));
        };
        let value = match tag.as_str() {
            "keyword" => Value::Keyword(map.next_value()?),
            "edn" => Value::Literal(map.next_value()?),
            "map" => {
                let pairs: Vec<(Value, Value)> = map.next_value()?;
                Value::Map(pairs.into_iter().collect())
            }
            other => {
                return Err(de::Error::custom(format!(
                    "unknown object tag {other:?}; expected \"keyword\", \"edn\" or \"map\""
                )));
            }
        };
        if map.next_key::<String>()?.is_some() {
            return Err(de::Error::custom(
                "a tagged value object has exactly one field",
            ));
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_of_every_variant() {
        let mut map = BTreeMap::new();
        map.insert(Value::Keyword("a".into()), Value::Int(1));
        let value = Value::List(vec![
            Value::Nil,
            Value::Bool(true),
            Value::Int(-3),
            Value::from("x\"y"),
            Value::Keyword("timed-out".into()),
            Value::Literal("1.5".into()),
            Value::Map(map),
        ]);
        let json = serde_json::to_string(&value).unwrap();
        assert_eq!(
            json,
            r#"[null,true,-3,"x\"y",{"keyword":"timed-out"},{"edn":"1.5"},{"map":[[{"keyword":"a"},1]]}]"#
        );
        assert_eq!(serde_json::from_str::<Value>(&json).unwrap(), value);
    }

    #[test]
    fn floats_are_rejected() {
        assert!(serde_json::from_str::<Value>("1.5").is_err());
    }

    #[test]
    fn display_is_edn() {
        let value = Value::List(vec![
            Value::Int(1),
            Value::from("a"),
            Value::Keyword("k".into()),
        ]);
        assert_eq!(value.to_string(), r#"[1 "a" :k]"#);
    }
}
