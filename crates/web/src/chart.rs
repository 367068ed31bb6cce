//! Charts drawn on the server as inline SVG: no script, no image request,
//! and nothing the Content-Security-Policy has to allow (colours come from
//! classes in the style sheet, never `style` attributes).

use maud::{html, Markup};

/// Width and height of the drawing, in SVG units (it scales to its box).
const W: f64 = 600.0;
const H: f64 = 160.0;
/// Room left for the axis labels.
const PAD: f64 = 8.0;

/// A step chart of `points` (x ascending, y ≥ 0), labelled `label` for
/// screen readers. `None` with fewer than two points.
pub fn steps(points: &[(u64, u64)], label: &str) -> Option<Markup> {
    if points.len() < 2 {
        return None;
    }
    let (x0, x1) = (points[0].0, points[points.len() - 1].0);
    let y_max = points.iter().map(|p| p.1).max().unwrap_or(0).max(1);
    let sx = |x: u64| PAD + (x - x0) as f64 / (x1 - x0).max(1) as f64 * (W - 2.0 * PAD);
    let sy = |y: u64| H - PAD - y as f64 / y_max as f64 * (H - 2.0 * PAD);
    let mut d = format!("M{:.1},{:.1}", sx(points[0].0), sy(points[0].1));
    for w in points.windows(2) {
        // Hold the previous value until the next point, then step.
        d.push_str(&format!(
            " H{:.1} V{:.1}",
            sx(w[1].0),
            sy(w[1].1)
        ));
    }
    Some(html! {
        svg.chart role="img" aria-label=(label) viewBox={"0 0 " (W) " " (H)} preserveAspectRatio="none" {
            title { (label) }
            line.axis x1=(PAD) y1=(H - PAD) x2=(W - PAD) y2=(H - PAD) {}
            path.line d=(d) {}
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_step_chart_holds_then_steps() {
        let svg = super::steps(&[(1, 0), (5, 10), (9, 5)], "balance")
            .unwrap()
            .into_string();
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("<title>balance</title>"));
        assert!(svg.contains("d=\"M8.0,152.0 H300.0 V8.0 H592.0 V80.0\""), "{svg}");
        assert!(super::steps(&[(1, 1)], "one point").is_none());
        // One height only: no division by zero.
        assert!(super::steps(&[(3, 1), (3, 2)], "same height").is_some());
    }
}
