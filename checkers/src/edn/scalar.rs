//! The EDN scalars a token spells: `nil`, booleans, numbers (integers, `N` big integers, `M`
//! decimals, floats, ratios), symbols, and characters; each to its [`Value`]. Scalars with no
//! variant of their own become a [`Value::Literal`] holding their canonical text, so that two
//! spellings Clojure reads as equal (`2/4` and `1/2`, `1e3` and `1000.0`) compare equal.

use crate::value::Value;

/// The value of a token that is not a string, keyword, collection or dispatch: `nil`,
/// `true`, `false`, a number or a symbol.
pub(super) fn atom(token: &str) -> Result<Value, String> {
    match token {
        "nil" => return Ok(Value::Nil),
        "true" => return Ok(Value::Bool(true)),
        "false" => return Ok(Value::Bool(false)),
        _ => {}
    }
    let bytes = token.as_bytes();
    let numeric = bytes.first().is_some_and(u8::is_ascii_digit)
        || (matches!(bytes.first(), Some(b'-' | b'+'))
            && bytes.get(1).is_some_and(u8::is_ascii_digit));
    if numeric {
        number(token).ok_or_else(|| format!("unsupported number '{token}'"))
    } else {
        symbol(token)
    }
}

/// A number: `None` if the token is not one this reader knows.
fn number(token: &str) -> Option<Value> {
    let (negative, body) = match token.as_bytes()[0] {
        b'-' => (true, &token[1..]),
        b'+' => (false, &token[1..]),
        _ => (false, token),
    };
    let sign = if negative { "-" } else { "" };
    if let Some(decimal) = body.strip_suffix('M') {
        // A BigDecimal: kept as written (less a leading '+'), since its scale is significant.
        return is_decimal(decimal).then(|| Value::Literal(format!("{sign}{decimal}M")));
    }
    if let Some((numerator, denominator)) = body.split_once('/') {
        return ratio(negative, numerator, denominator);
    }
    if body.contains(['.', 'e', 'E']) {
        if !is_decimal(body) {
            return None;
        }
        let float: f64 = token.parse().ok()?;
        return float
            .is_finite()
            .then(|| Value::Literal(format!("{float:?}")));
    }
    let digits = body.strip_suffix('N').unwrap_or(body);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match format!("{sign}{digits}").parse::<i64>() {
        Ok(int) => Some(Value::Int(int)),
        Err(_) => {
            // Beyond 64 bits: a big integer, as Clojure reads it, in canonical form.
            let digits = digits.trim_start_matches('0');
            Some(Value::Literal(format!("{sign}{digits}N")))
        }
    }
}

/// Whether `text` is unsigned decimal digits, with an optional fraction and exponent.
fn is_decimal(text: &str) -> bool {
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, Some(exponent)),
        None => (text, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    !whole.is_empty() && digits(whole) && digits(fraction) && exponent_ok
}

/// A ratio `n/d` in lowest terms (an integer if `d` divides `n`); `None` if malformed, if
/// `d` is zero or if a part does not fit in 64 bits.
fn ratio(negative: bool, numerator: &str, denominator: &str) -> Option<Value> {
    let natural = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<i64>().ok())
            .flatten()
    };
    let (numerator, denominator) = (natural(numerator)?, natural(denominator)?);
    if denominator == 0 {
        return None;
    }
    let divisor = gcd(numerator, denominator);
    let (numerator, denominator) = (numerator / divisor, denominator / divisor);
    let numerator = if negative { -numerator } else { numerator };
    Some(if denominator == 1 {
        Value::Int(numerator)
    } else {
        Value::Literal(format!("{numerator}/{denominator}"))
    })
}

fn gcd(mut a: i64, mut b: i64) -> i64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// A symbol (`foo`, `jepsen.x/y`, `+`): kept as its text.
fn symbol(token: &str) -> Result<Value, String> {
    let valid = token
        .chars()
        .all(|c| c.is_alphanumeric() || ".*+!-_?$%&=<>/:#'".contains(c))
        && !token.starts_with([':', '#', '\'']);
    if valid {
        Ok(Value::Literal(token.to_owned()))
    } else {
        Err(format!("unsupported token '{token}'"))
    }
}

/// The character a character literal names, given the text after its backslash: one
/// character (`a`, `(`), a name (`newline`, `space`, `tab`, `return`, `formfeed`,
/// `backspace`), or `uXXXX`.
pub(super) fn character(name: &str) -> Result<char, String> {
    let mut chars = name.chars();
    if let (Some(only), None) = (chars.next(), chars.next()) {
        return Ok(only);
    }
    match name {
        "newline" => Ok('\n'),
        "space" => Ok(' '),
        "tab" => Ok('\t'),
        "return" => Ok('\r'),
        "formfeed" => Ok('\u{c}'),
        "backspace" => Ok('\u{8}'),
        _ => name
            .strip_prefix('u')
            .filter(|hex| hex.len() == 4)
            .and_then(|hex| u32::from_str_radix(hex, 16).ok())
            .and_then(char::from_u32)
            .ok_or_else(|| format!("unknown character literal '\\{name}'")),
    }
}

/// A character's canonical literal: `\a`, or its name for those that have one.
pub(super) fn character_literal(c: char) -> Value {
    let text = match c {
        '\n' => "\\newline".to_owned(),
        ' ' => "\\space".to_owned(),
        '\t' => "\\tab".to_owned(),
        '\r' => "\\return".to_owned(),
        '\u{c}' => "\\formfeed".to_owned(),
        '\u{8}' => "\\backspace".to_owned(),
        c if c.is_control() => format!("\\u{:04x}", c as u32),
        c => format!("\\{c}"),
    };
    Value::Literal(text)
}
