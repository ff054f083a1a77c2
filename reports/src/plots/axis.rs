//! Scales (linear and logarithmic) and their tick marks.

/// Maps a data interval onto a pixel interval, linearly or logarithmically.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scale {
    /// Lowest and highest data value.
    pub domain: (f64, f64),
    /// Pixels of the lowest and highest value.
    pub range: (f64, f64),
    /// Whether the scale is base-10 logarithmic (the domain is then positive).
    pub log: bool,
}

impl Scale {
    /// A linear scale; an empty domain is widened to one unit.
    pub fn linear(low: f64, high: f64, range: (f64, f64)) -> Scale {
        let high = if high > low { high } else { low + 1.0 };
        Scale {
            domain: (low, high),
            range,
            log: false,
        }
    }

    /// A log scale over whole decades covering `low..=high` (both positive).
    pub fn log(low: f64, high: f64, range: (f64, f64)) -> Scale {
        let low = 10f64.powf(low.max(f64::MIN_POSITIVE).log10().floor());
        let mut high = 10f64.powf(high.max(low).log10().ceil());
        if high <= low {
            high = low * 10.0;
        }
        Scale {
            domain: (low, high),
            range,
            log: true,
        }
    }

    /// The pixel of `value` (clamped into the domain).
    pub fn map(&self, value: f64) -> f64 {
        let (low, high) = self.domain;
        let value = value.clamp(low, high);
        let fraction = if self.log {
            (value.log10() - low.log10()) / (high.log10() - low.log10())
        } else {
            (value - low) / (high - low)
        };
        self.range.0 + fraction * (self.range.1 - self.range.0)
    }

    /// Tick values: decades for a log scale, about `count` round values for a linear one.
    pub fn ticks(&self, count: usize) -> Vec<f64> {
        let (low, high) = self.domain;
        if self.log {
            let mut ticks = Vec::new();
            let mut tick = low;
            while tick <= high * 1.0001 {
                ticks.push(tick);
                tick *= 10.0;
            }
            return ticks;
        }
        let step = nice_step((high - low) / count.max(1) as f64);
        let mut tick = (low / step).ceil() * step;
        let mut ticks = Vec::new();
        while tick <= high + step * 1e-9 {
            ticks.push(tick);
            tick += step;
        }
        ticks
    }
}

/// The round step (1, 2 or 5 times a power of ten) nearest above `raw`.
fn nice_step(raw: f64) -> f64 {
    if raw <= 0.0 || !raw.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    let fraction = raw / magnitude;
    let nice = if fraction <= 1.0 {
        1.0
    } else if fraction <= 2.0 {
        2.0
    } else if fraction <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// A tick label: integers plainly, small values with a few significant digits.
pub(crate) fn label(value: f64) -> String {
    if value == 0.0 {
        return "0".to_owned();
    }
    if value.abs() >= 1.0 && (value - value.round()).abs() < 1e-9 {
        return format!("{}", value.round() as i64);
    }
    let text = format!("{value:.6}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_ticks_are_round() {
        let scale = Scale::linear(0.0, 9.3, (0.0, 100.0));
        assert_eq!(scale.ticks(5), vec![0.0, 2.0, 4.0, 6.0, 8.0]);
        assert_eq!(scale.map(9.3), 100.0);
    }

    #[test]
    fn log_scale_covers_whole_decades() {
        let scale = Scale::log(0.3, 250.0, (100.0, 0.0));
        assert_eq!(scale.domain, (0.1, 1000.0));
        assert_eq!(scale.ticks(0).len(), 5);
        assert!((scale.map(1.0) - 75.0).abs() < 1e-9);
    }

    #[test]
    fn labels_are_short() {
        assert_eq!(label(2.0), "2");
        assert_eq!(label(0.001), "0.001");
        assert_eq!(label(0.5), "0.5");
    }
}
