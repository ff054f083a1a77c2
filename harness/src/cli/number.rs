//! Whole-number flags with a range: `-1` gets a range error naming the flag (clap's own u64
//! parser would say "invalid digit", and without `allow_hyphen_values` clap reads `-1` as an
//! unknown flag).

/// A clap value parser for a whole number from `low` to `high` (inclusive). Use it with
/// `allow_hyphen_values = true`, so that a negative value reaches it.
pub fn whole_number(
    low: u64,
    high: u64,
) -> impl Fn(&str) -> Result<u64, String> + Clone + Send + Sync + 'static {
    move |text: &str| {
        let out_of_range = || format!("`{text}` is not a whole number from {low} to {high}");
        let number: i128 = text.trim().parse().map_err(|_| out_of_range())?;
        u64::try_from(number)
            .ok()
            .filter(|number| (low..=high).contains(number))
            .ok_or_else(out_of_range)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_zero_and_too_large_are_out_of_range() {
        let jobs = whole_number(1, 64);
        assert_eq!(jobs("3"), Ok(3));
        assert_eq!(jobs("64"), Ok(64));
        for bad in [
            "-3",
            "0",
            "65",
            "x",
            "99999999999999999999999999999999999999999",
        ] {
            let error = jobs(bad).unwrap_err();
            assert_eq!(error, format!("`{bad}` is not a whole number from 1 to 64"));
        }
        let seed = whole_number(0, u64::MAX);
        assert_eq!(seed("18446744073709551615"), Ok(u64::MAX));
        assert!(
            seed("-1")
                .unwrap_err()
                .contains("from 0 to 18446744073709551615")
        );
    }
}
