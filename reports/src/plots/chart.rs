//! The frame every plot shares: size, margins, time axis, fault shading, axes and legend.

use super::axis::{self, Scale};
use super::svg::Svg;
use crate::extract::{Clock, Fault};

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 420.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 48.0;
const BOTTOM: f64 = 46.0;

/// A plot being drawn: its document and the scales of its plotting area.
pub(crate) struct Chart {
    /// The document.
    pub svg: Svg,
    /// Time (seconds, or event positions) to pixels.
    pub x: Scale,
    /// The plotted quantity to pixels.
    pub y: Scale,
    clock: Clock,
}

/// A history time on the x axis: seconds for a timed history, else the event position.
pub(crate) fn time_value(time: u64, clock: Clock) -> f64 {
    match clock {
        Clock::Nanos => time as f64 / 1e9,
        Clock::Events => time as f64,
    }
}

/// The pixel range of the plotting area's x axis.
pub(crate) fn x_range() -> (f64, f64) {
    (LEFT, WIDTH - RIGHT)
}

/// The pixel range of the plotting area's y axis (bottom to top).
pub(crate) fn y_range() -> (f64, f64) {
    (HEIGHT - BOTTOM, TOP)
}

impl Chart {
    /// A chart titled `title` over times `0..=end` and the given y scale.
    pub fn new(title: &str, end: u64, clock: Clock, y: Scale) -> Chart {
        let mut svg = Svg::new(WIDTH, HEIGHT, title);
        svg.text(LEFT, 18.0, "start", title);
        let x = Scale::linear(0.0, time_value(end, clock), x_range());
        Chart { svg, x, y, clock }
    }

    /// Shades each fault period across the plotting area, labelled above it when it fits.
    pub fn faults(&mut self, faults: &[Fault]) {
        for fault in faults {
            let x1 = self.x.map(time_value(fault.start, self.clock));
            let x2 = self.x.map(time_value(fault.end, self.clock));
            let tip = if fault.detail.is_empty() {
                fault.name.clone()
            } else {
                format!("{}: {}", fault.name, fault.detail)
            };
            self.svg
                .rect(x1, TOP, x2 - x1, HEIGHT - TOP - BOTTOM, "fault", &tip);
            if x2 - x1 >= 6.0 * fault.name.len() as f64 {
                self.svg
                    .text((x1 + x2) / 2.0, TOP - 4.0, "middle", &fault.name);
            }
        }
    }

    /// Draws grid lines, tick labels and both axis labels.
    pub fn axes(&mut self, y_label: &str) {
        let (bottom, top) = y_range();
        let (left, right) = x_range();
        for tick in self.x.ticks(10) {
            let x = self.x.map(tick);
            self.svg.line((x, top), (x, bottom), "grid");
            self.svg
                .text(x, bottom + 14.0, "middle", &axis::label(tick));
        }
        for tick in self.y.ticks(6) {
            let y = self.y.map(tick);
            self.svg.line((left, y), (right, y), "grid");
            self.svg
                .text(left - 6.0, y + 4.0, "end", &axis::label(tick));
        }
        self.svg.line((left, bottom), (right, bottom), "axis");
        self.svg.line((left, bottom), (left, top), "axis");
        let x_label = match self.clock {
            Clock::Nanos => "time (s)",
            Clock::Events => "event position (the history has no times)",
        };
        self.svg
            .text((left + right) / 2.0, HEIGHT - 8.0, "middle", x_label);
        self.svg.vertical_text(16.0, (top + bottom) / 2.0, y_label);
    }

    /// A legend of `(class, label)` swatches along the top right.
    pub fn legend(&mut self, items: &[(&str, String)]) {
        let mut x = WIDTH - RIGHT;
        for (class, label) in items.iter().rev() {
            let width = 7.0 * label.chars().count() as f64 + 22.0;
            x -= width;
            self.svg.rect(x, 9.0, 10.0, 10.0, class, "");
            self.svg.text(x + 14.0, 18.0, "start", label);
        }
    }

    /// A note in the middle of the plotting area (when there is nothing to plot).
    pub fn message(&mut self, text: &str) {
        let (bottom, top) = y_range();
        let (left, right) = x_range();
        self.svg
            .text((left + right) / 2.0, (top + bottom) / 2.0, "middle", text);
    }

    /// The finished document.
    pub fn finish(self) -> String {
        self.svg.finish()
    }
}
