//! Charts drawn on the server as inline SVG: no script, no library, nothing
//! loaded. Each chart names itself to assistive technology (`<title>` and
//! `<desc>` through `aria-labelledby`), labels both axes, scales to the
//! width of its container through its `viewBox`, and comes with its numbers
//! as a table in a `<details>` element, the exact figures the drawing only
//! approximates.
//!
//! Values are whole numbers (`u64`: base units, counts, milliseconds) and
//! are formatted for labels and the table by the caller's function, so no
//! figure goes through floating point on its way to the page; only the
//! drawing's coordinates do.

use maud::{html, Markup};

/// How the points are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// One bar per point (an amount per range of blocks).
    Bars,
    /// A line holding each value until the next point (a balance).
    Steps,
}

/// A chart: its texts, its points and how to show their values.
pub(crate) struct Chart<'a> {
    /// A page-unique id; the title and description ids derive from it.
    pub id: &'a str,
    /// What the chart shows (its heading and `<title>`).
    pub title: String,
    /// A sentence summing it up for screen readers (`<desc>`).
    pub desc: String,
    /// The horizontal axis's label.
    pub x_label: String,
    /// The vertical axis's label.
    pub y_label: String,
    /// The table's caption (in the `<summary>`).
    pub table_label: String,
    /// The points: a label for the horizontal position (a height or a range
    /// of heights) and the value, in the order drawn (left to right).
    pub points: Vec<(String, u64)>,
    /// How a value reads (labels and table).
    pub value: &'a dyn Fn(u64) -> String,
    /// How the points are drawn.
    pub kind: Kind,
}

/// The drawing's coordinate system: its size and the plot area's margins
/// (the left one fits the longest value label: [`left_margin`]).
const W: f64 = 640.0;
const H: f64 = 260.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 52.0;

impl Chart<'_> {
    /// The chart as a `<figure>`: the SVG and the data table.
    pub(crate) fn render(&self) -> Markup {
        let title_id = format!("{}-title", self.id);
        let desc_id = format!("{}-desc", self.id);
        let max = self.points.iter().map(|p| p.1).max().unwrap_or(0);
        // The top of the axis: the largest value, or 1 for an empty or
        // all-zero chart (so nothing divides by zero).
        let top = max.max(1);
        let mut ticks = vec![0, top / 2, top];
        ticks.dedup();
        let ticks: Vec<(u64, String)> = ticks.into_iter().map(|v| (v, (self.value)(v))).collect();
        let left = left_margin(ticks.iter().map(|t| t.1.chars().count()).max().unwrap_or(1));
        let plot_w = W - left - RIGHT;
        let plot_h = H - TOP - BOTTOM;
        let n = self.points.len().max(1) as f64;
        let y_of = |v: u64| TOP + plot_h - (v as f64 / top as f64) * plot_h;
        let first = self.points.first().map(|p| p.0.as_str()).unwrap_or("");
        let last = self.points.last().map(|p| p.0.as_str()).unwrap_or("");
        let shape = match self.kind {
            Kind::Bars => {
                let slot = plot_w / n;
                let width = (slot * 0.8).max(1.0);
                let mut d = String::new();
                for (i, (_, v)) in self.points.iter().enumerate() {
                    let x = left + slot * i as f64 + (slot - width) / 2.0;
                    let y = y_of(*v);
                    let h = TOP + plot_h - y;
                    d.push_str(&format!("M{x:.1} {y:.1}h{width:.1}v{h:.1}h-{width:.1}z"));
                }
                html! { path.bars d=(d) {} }
            }
            Kind::Steps => {
                let step = plot_w / n;
                let mut d = String::new();
                for (i, (_, v)) in self.points.iter().enumerate() {
                    let x = left + step * i as f64;
                    let y = y_of(*v);
                    if i == 0 {
                        d.push_str(&format!("M{x:.1} {y:.1}"));
                    } else {
                        d.push_str(&format!("V{y:.1}"));
                    }
                    d.push_str(&format!("H{:.1}", x + step));
                }
                html! { path.steps d=(d) fill="none" {} }
            }
        };
        html! {
            figure.chart {
                svg role="img" aria-labelledby={ (title_id) " " (desc_id) }
                    viewBox={ "0 0 " (W) " " (H) } preserveAspectRatio="xMidYMid meet" {
                    title #(title_id) { (self.title) }
                    desc #(desc_id) { (self.desc) }
                    g.grid aria-hidden="true" {
                        @for (v, label) in &ticks {
                            @let y = y_of(*v);
                            line x1=(left) x2=(W - RIGHT) y1=(format!("{y:.1}")) y2=(format!("{y:.1}")) {}
                            text.tick x=(left - 6.0) y=(format!("{:.1}", y + 4.0)) text-anchor="end" { (label) }
                        }
                    }
                    g aria-hidden="true" { (shape) }
                    g.axis aria-hidden="true" {
                        text.tick x=(left) y=(H - BOTTOM + 18.0) text-anchor="start" { (first) }
                        text.tick x=(W - RIGHT) y=(H - BOTTOM + 18.0) text-anchor="end" { (last) }
                        text.label x=(left + plot_w / 2.0) y=(H - 8.0) text-anchor="middle" { (self.x_label) }
                        text.label transform={ "translate(14 " (TOP + plot_h / 2.0) ") rotate(-90)" } text-anchor="middle" { (self.y_label) }
                    }
                }
                details {
                    summary { (self.table_label) }
                    table {
                        thead { tr { th scope="col" { (self.x_label) } th scope="col" .num { (self.y_label) } } }
                        tbody {
                            @for (x, v) in &self.points {
                                tr { td { (x) } td.num { ((self.value)(*v)) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The left margin for value labels of up to `chars` characters: room for
/// them at the labels' size and for the rotated axis label beside them.
fn left_margin(chars: usize) -> f64 {
    (40.0 + 9.5 * chars as f64).clamp(64.0, 240.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(points: Vec<(String, u64)>, kind: Kind) -> String {
        let value = |v: u64| v.to_string();
        Chart {
            id: "c",
            title: "Title".into(),
            desc: "Desc".into(),
            x_label: "X".into(),
            y_label: "Y".into(),
            table_label: "Table".into(),
            points,
            value: &value,
            kind,
        }
        .render()
        .into_string()
    }

    #[test]
    fn a_chart_names_itself_and_keeps_exact_numbers() {
        let big = u64::MAX - 1;
        let s = chart(
            vec![("1".into(), 5), ("2".into(), big), ("3".into(), 0)],
            Kind::Bars,
        );
        assert!(s.contains(r#"aria-labelledby="c-title c-desc""#), "{s}");
        assert!(s.contains("<title id=\"c-title\">Title</title>"));
        assert!(s.contains("<desc id=\"c-desc\">Desc</desc>"));
        // The exact value in the table and as the axis's top label.
        assert!(s.contains(&format!("<td class=\"num\">{big}</td>")));
        assert!(s.contains(&format!(">{big}</text>")));
        assert_eq!(s.matches("<tr>").count(), 4, "a header and 3 rows");
        assert!(!s.contains("NaN") && !s.contains("inf"));
    }

    #[test]
    fn empty_and_zero_charts_draw() {
        for kind in [Kind::Bars, Kind::Steps] {
            let s = chart(vec![], kind);
            assert!(!s.contains("NaN") && !s.contains("inf"), "{s}");
            let s = chart(vec![("7".into(), 0), ("8".into(), 0)], kind);
            assert!(!s.contains("NaN") && !s.contains("inf"), "{s}");
        }
    }
}
