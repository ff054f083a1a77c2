//! A tiny SVG writer: elements appended to a string, every text escaped.

use std::fmt::Write;

use crate::escape;

/// An SVG document being written.
pub(crate) struct Svg {
    out: String,
}

/// Formats a coordinate with at most one decimal, without a trailing `.0`.
pub(crate) fn num(value: f64) -> String {
    let rounded = (value * 10.0).round() / 10.0;
    if rounded == rounded.trunc() {
        format!("{}", rounded as i64)
    } else {
        format!("{rounded:.1}")
    }
}

impl Svg {
    /// A `width` by `height` document titled `title`, with the shared stylesheet.
    pub fn new(width: f64, height: f64, title: &str) -> Svg {
        let mut out = String::new();
        let _ = write!(
            out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
             viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"11\">\n\
             <title>{title}</title>\n\
             <style>.ok{{fill:#2e9e44;stroke:#2e9e44}} .fail{{fill:#d62728;stroke:#d62728}} \
             .info{{fill:#f0a500;stroke:#f0a500}} \
             .q50{{fill:#1f77b4;stroke:#1f77b4}} .q95{{fill:#ff7f0e;stroke:#ff7f0e}} \
             .q99{{fill:#d62728;stroke:#d62728}} .qmax{{fill:#555;stroke:#555}} .fault{{fill:#9467bd;fill-opacity:0.13}} \
             .grid{{stroke:#ddd;stroke-width:1}} .axis{{stroke:#333;stroke-width:1}} \
             text{{fill:#222}}</style>\n\
             <rect width=\"{w}\" height=\"{h}\" fill=\"white\"/>\n",
            w = num(width),
            h = num(height),
            title = escape::xml(title),
        );
        Svg { out }
    }

    /// A rectangle with a class (and an optional tooltip).
    pub fn rect(&mut self, x: f64, y: f64, width: f64, height: f64, class: &str, tip: &str) {
        let _ = write!(
            self.out,
            "<rect class=\"{class}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"",
            num(x),
            num(y),
            num(width.max(0.5)),
            num(height.max(0.0)),
        );
        if tip.is_empty() {
            self.out.push_str("/>\n");
        } else {
            let _ = writeln!(self.out, "><title>{}</title></rect>", escape::xml(tip));
        }
    }

    /// A line segment with a class.
    pub fn line(&mut self, (x1, y1): (f64, f64), (x2, y2): (f64, f64), class: &str) {
        let _ = writeln!(
            self.out,
            "<line class=\"{class}\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>",
            num(x1),
            num(y1),
            num(x2),
            num(y2)
        );
    }

    /// Text at a point; `anchor` is `start`, `middle` or `end`.
    pub fn text(&mut self, x: f64, y: f64, anchor: &str, text: &str) {
        let _ = writeln!(
            self.out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\">{}</text>",
            num(x),
            num(y),
            escape::xml(text)
        );
    }

    /// Text rotated a quarter turn anticlockwise around its point (for a vertical axis).
    pub fn vertical_text(&mut self, x: f64, y: f64, text: &str) {
        let _ = writeln!(
            self.out,
            "<text x=\"{x}\" y=\"{y}\" text-anchor=\"middle\" transform=\"rotate(-90 {x} {y})\">{}</text>",
            escape::xml(text),
            x = num(x),
            y = num(y),
        );
    }

    /// A polyline through `points`, stroked in `class`'s colour, unfilled.
    pub fn polyline(&mut self, points: &[(f64, f64)], class: &str, label: &str) {
        let mut list = String::with_capacity(points.len() * 12);
        for (x, y) in points {
            let _ = write!(list, "{},{} ", num(*x), num(*y));
        }
        let _ = writeln!(
            self.out,
            "<polyline class=\"{class}\" data-series=\"{}\" fill=\"none\" stroke-width=\"1.5\" \
             points=\"{}\" style=\"fill:none\"/>",
            escape::xml(label),
            list.trim_end()
        );
    }

    /// A dot at each point, as one path of round-capped zero-length strokes (compact for
    /// many thousands of points).
    pub fn dots(&mut self, points: &[(f64, f64)], class: &str, radius: f64) {
        if points.is_empty() {
            return;
        }
        let mut d = String::with_capacity(points.len() * 12);
        for (x, y) in points {
            let _ = write!(d, "M{} {}h0", num(*x), num(*y));
        }
        let _ = writeln!(
            self.out,
            "<path class=\"{class}\" data-points=\"{}\" style=\"fill:none\" stroke-width=\"{}\" \
             stroke-linecap=\"round\" stroke-opacity=\"0.6\" d=\"{d}\"/>",
            points.len(),
            num(radius * 2.0)
        );
    }

    /// The finished document.
    pub fn finish(mut self) -> String {
        self.out.push_str("</svg>\n");
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short() {
        assert_eq!(num(3.0), "3");
        assert_eq!(num(12.345), "12.3");
        assert_eq!(num(-0.04), "0");
    }

    #[test]
    fn text_is_escaped() {
        let mut svg = Svg::new(10.0, 10.0, "a<b");
        svg.text(1.0, 2.0, "start", "x & y");
        let doc = svg.finish();
        assert!(doc.contains("<title>a&lt;b</title>"));
        assert!(doc.contains(">x &amp; y</text>"));
        assert!(doc.ends_with("</svg>\n"));
    }
}
