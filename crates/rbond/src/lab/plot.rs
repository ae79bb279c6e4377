//! `rbond lab --plot lab.svg`: the failover picture. Top panel: each slave's transmitted
//! packets per second as rbond counts them (sampled from `rbond status --json` every
//! 100 ms); bottom panel: the probe's loss per 100 ms. Vertical marks: cable pulls (red),
//! plugs (green) and failovers (blue, over the top fifth of each panel), at the times they
//! happened.
//!
//! `plotters` with its SVG backend only (no default features: no font files, no bitmap
//! backends); the SVG's text is plain `<text>` elements that any viewer renders.

use super::probe::ProbeResult;
use crate::top::SlaveSample;
use anyhow::{anyhow, Result};
use plotters::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What happened when, for the marks.
#[derive(Clone, Debug, PartialEq)]
pub enum MarkKind {
    Pull,
    Plug,
    Failover,
}

#[derive(Clone, Debug)]
pub struct Mark {
    pub at: Duration,
    pub kind: MarkKind,
    pub label: String,
}

/// Everything the picture shows; times from the start of the probe.
#[derive(Clone, Debug, Default)]
pub struct PlotData {
    pub title: String,
    /// Counter samples: time and every slave's counters then.
    pub samples: Vec<(Duration, Vec<SlaveSample>)>,
    /// Probe loss per bin: (bin start, percent lost).
    pub loss: Vec<(Duration, f64)>,
    pub marks: Vec<Mark>,
    pub duration: Duration,
}

pub const WIDTH: u32 = 1000;
pub const HEIGHT: u32 = 600;
/// Height of the throughput panel; the loss panel gets the rest.
const TOP_PANEL: u32 = 380;

pub const PULL_COLOR: RGBColor = RGBColor(220, 0, 0);
pub const PLUG_COLOR: RGBColor = RGBColor(0, 160, 0);
pub const FAILOVER_COLOR: RGBColor = RGBColor(0, 0, 230);
pub const LOSS_COLOR: RGBColor = RGBColor(255, 140, 0);
/// Slave line colors, in slave order (none equal to a mark color).
pub const SLAVE_COLORS: [RGBColor; 6] =
    [RGBColor(120, 0, 160), RGBColor(0, 150, 170), RGBColor(160, 110, 0), RGBColor(90, 90, 90), RGBColor(200, 0, 140), RGBColor(40, 100, 40)];

/// Loss per `bin` of a probe run, in percent of the datagrams sent in each bin.
pub fn loss_series(r: &ProbeResult, bin: Duration) -> Vec<(Duration, f64)> {
    let n = (r.send_end.as_millis() / bin.as_millis().max(1)) as usize + 1;
    let (mut sent, mut lost) = (vec![0u32; n], vec![0u32; n]);
    for (seq, at) in r.sent_at.iter().enumerate() {
        let b = ((at.as_millis() / bin.as_millis().max(1)) as usize).min(n - 1);
        sent[b] += 1;
        if r.replies.get(seq).is_none_or(|v| v.is_empty()) {
            lost[b] += 1;
        }
    }
    (0..n).filter(|&b| sent[b] > 0).map(|b| (bin * b as u32, 100.0 * lost[b] as f64 / sent[b] as f64)).collect()
}

/// Per slave, transmitted packets per second between consecutive samples.
fn tx_rates(samples: &[(Duration, Vec<SlaveSample>)]) -> Vec<(String, Vec<(f64, f64)>)> {
    let mut names: Vec<String> = Vec::new();
    for (_, v) in samples {
        for s in v {
            if !names.contains(&s.slave) {
                names.push(s.slave.clone());
            }
        }
    }
    names
        .into_iter()
        .map(|n| {
            let pts = samples
                .windows(2)
                .filter_map(|w| {
                    let a = w[0].1.iter().find(|s| s.slave == n)?;
                    let b = w[1].1.iter().find(|s| s.slave == n)?;
                    let dt = (w[1].0 - w[0].0).as_secs_f64().max(1e-3);
                    Some((w[1].0.as_secs_f64(), b.tx_packets.saturating_sub(a.tx_packets) as f64 / dt))
                })
                .collect();
            (n, pts)
        })
        .collect()
}

/// Writes the picture to `path` as SVG.
pub fn render(path: &Path, d: &PlotData) -> Result<()> {
    let e = |x: &dyn std::fmt::Display| anyhow!("drawing {}: {x}", path.display());
    let root = SVGBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(|x| e(&x))?;
    let (upper, lower) = root.split_vertically(TOP_PANEL);
    let tmax = d.duration.as_secs_f64().max(0.1);
    let rates = tx_rates(&d.samples);
    let ymax = rates.iter().flat_map(|(_, p)| p.iter().map(|&(_, y)| y)).fold(10.0f64, f64::max) * 1.15;

    let mut c = ChartBuilder::on(&upper)
        .caption(&d.title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..tmax, 0f64..ymax)
        .map_err(|x| e(&x))?;
    c.configure_mesh().disable_mesh().x_desc("time (s)").y_desc("tx packets/s").draw().map_err(|x| e(&x))?;
    for (i, (name, pts)) in rates.iter().enumerate() {
        let color = SLAVE_COLORS[i % SLAVE_COLORS.len()];
        c.draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))
            .map_err(|x| e(&x))?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    draw_marks(&mut c, &d.marks, ymax).map_err(|x| e(&x))?;
    c.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(|x| e(&x))?;

    let mut l = ChartBuilder::on(&lower)
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..tmax, 0f64..100f64)
        .map_err(|x| e(&x))?;
    l.configure_mesh().disable_mesh().x_desc("time (s)").y_desc("probe loss %").draw().map_err(|x| e(&x))?;
    l.draw_series(d.loss.iter().map(|&(t, p)| {
        let t0 = t.as_secs_f64();
        Rectangle::new([(t0, 0.0), (t0 + 0.1, p)], LOSS_COLOR.filled())
    }))
    .map_err(|x| e(&x))?;
    draw_marks(&mut l, &d.marks, 100.0).map_err(|x| e(&x))?;
    root.present().map_err(|x| e(&x))?;
    Ok(())
}

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>>;

/// Pulls and plugs are full-height lines; a failover, usually a few ms after its pull (one
/// pixel apart at this scale), is a thicker line over the top fifth only, so both show.
fn draw_marks(c: &mut Chart<'_, '_>, marks: &[Mark], ymax: f64) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    let mut ordered: Vec<&Mark> = marks.iter().collect();
    ordered.sort_by_key(|m| m.kind == MarkKind::Failover);
    for m in ordered {
        let (color, from, width) = match m.kind {
            MarkKind::Pull => (PULL_COLOR, 0.0, 2),
            MarkKind::Plug => (PLUG_COLOR, 0.0, 2),
            MarkKind::Failover => (FAILOVER_COLOR, ymax * 0.8, 4),
        };
        let t = m.at.as_secs_f64();
        c.draw_series(std::iter::once(PathElement::new(vec![(t, from), (t, ymax)], color.stroke_width(width))))?;
        c.draw_series(std::iter::once(Text::new(m.label.clone(), (t, ymax * 0.97), ("sans-serif", 12).into_font().color(&color))))?;
    }
    Ok(())
}

/// Samples the host bond's counters every 100 ms on a thread, over the daemon's control
/// socket, until stopped.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<Vec<(Duration, Vec<SlaveSample>)>>,
}

impl Sampler {
    pub fn start(socket: PathBuf, bond: &str, t0: Instant) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let (s, bond) = (stop.clone(), bond.to_string());
        let handle = std::thread::spawn(move || {
            let mut out = Vec::new();
            while !s.load(Ordering::SeqCst) {
                if let Ok(v) = crate::top::sample(&socket, Some(bond.clone())) {
                    out.push((t0.elapsed(), v));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            out
        });
        Sampler { stop, handle }
    }

    pub fn finish(self) -> Vec<(Duration, Vec<SlaveSample>)> {
        self.stop.store(true, Ordering::SeqCst);
        self.handle.join().unwrap_or_default()
    }
}

/// The failovers of `bond` in the daemon's event log, as marks relative to `t0_ms` (wall
/// clock, ms since the epoch).
pub fn failover_marks(socket: &Path, bond: &str, t0_ms: u64) -> Vec<Mark> {
    crate::top::fetch_events(socket, Some(bond), 0)
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e.kind == "failover" && e.time_ms >= t0_ms)
        .map(|e| Mark {
            at: Duration::from_millis(e.time_ms - t0_ms),
            kind: MarkKind::Failover,
            label: format!("-> {}", e.to.unwrap_or_default()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<(Duration, Vec<SlaveSample>)> {
        // eth0 carries 1000 packets/s until 4 s, then eth1.
        (0..=100u64)
            .map(|i| {
                let t = i * 100;
                let (a, b) = if t <= 4000 { (t, 0) } else { (4000, t - 4000) };
                let s = |n: &str, tx| SlaveSample { bond: "bond0".into(), slave: n.into(), tx_packets: tx, ..Default::default() };
                (Duration::from_millis(t), vec![s("eth0", a), s("eth1", b)])
            })
            .collect()
    }

    /// Columns of the rendered picture where at least `min` pixels have `color`.
    fn columns_with(pix: &resvg::tiny_skia::Pixmap, color: RGBColor, min: usize) -> Vec<u32> {
        (0..pix.width())
            .filter(|&x| {
                (0..pix.height())
                    .filter(|&y| {
                        let p = pix.pixel(x, y).unwrap();
                        (p.red() as i32 - color.0 as i32).abs() < 40
                            && (p.green() as i32 - color.1 as i32).abs() < 40
                            && (p.blue() as i32 - color.2 as i32).abs() < 40
                            && p.alpha() > 200
                    })
                    .count()
                    >= min
            })
            .collect()
    }

    pub fn rasterize(svg: &Path) -> resvg::tiny_skia::Pixmap {
        let data = std::fs::read(svg).unwrap();
        let tree = resvg::usvg::Tree::from_data(&data, &resvg::usvg::Options::default()).expect("a valid SVG");
        let size = tree.size().to_int_size();
        let mut pix = resvg::tiny_skia::Pixmap::new(size.width(), size.height()).unwrap();
        resvg::render(&tree, resvg::tiny_skia::Transform::default(), &mut pix.as_mut());
        pix
    }

    #[test]
    fn the_pull_and_the_failover_are_where_they_happened() {
        let dir = std::env::temp_dir().join(format!("rbond-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let svg = dir.join("lab.svg");
        let d = PlotData {
            title: "test".into(),
            samples: samples(),
            loss: (0..100).map(|i| (Duration::from_millis(i * 100), if i == 40 { 50.0 } else { 0.0 })).collect(),
            marks: vec![
                Mark { at: Duration::from_millis(4000), kind: MarkKind::Pull, label: "pull eth0".into() },
                Mark { at: Duration::from_millis(4100), kind: MarkKind::Failover, label: "-> eth1".into() },
                Mark { at: Duration::from_millis(7000), kind: MarkKind::Plug, label: "plug".into() },
            ],
            duration: Duration::from_secs(10),
        };
        render(&svg, &d).unwrap();
        let pix = rasterize(&svg);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!((pix.width(), pix.height()), (WIDTH, HEIGHT));
        // The plot area spans x from the y label area (60 + margin 10) to WIDTH - 10: the
        // pull at 4 s of 10 s sits 40 % across it, the plug at 70 %.
        let x_at = |frac: f64| 70.0 + frac * (WIDTH as f64 - 80.0);
        let pull = columns_with(&pix, PULL_COLOR, 200);
        let plug = columns_with(&pix, PLUG_COLOR, 200);
        let fo = columns_with(&pix, FAILOVER_COLOR, 40);
        assert!(!pull.is_empty() && pull.iter().all(|&x| (x as f64 - x_at(0.4)).abs() < 6.0), "pull at {pull:?}, expected ~{}", x_at(0.4));
        assert!(!plug.is_empty() && plug.iter().all(|&x| (x as f64 - x_at(0.7)).abs() < 6.0), "plug at {plug:?}");
        assert!(!fo.is_empty() && fo.iter().all(|&x| x as f64 > x_at(0.4)), "failover at {fo:?}");
        // eth0's line (first color) is left of the pull, eth1's right of it.
        let eth0 = columns_with(&pix, SLAVE_COLORS[0], 2);
        let eth1 = columns_with(&pix, SLAVE_COLORS[1], 2);
        let hi0 = eth0.iter().filter(|&&x| (x as f64) < x_at(0.35)).count();
        let hi1 = eth1.iter().filter(|&&x| (x as f64) > x_at(0.45)).count();
        assert!(hi0 > 100 && hi1 > 100, "eth0 columns left of the pull {hi0}, eth1 right of it {hi1}");
        // The loss bar in the lower panel, at the pull.
        let loss = columns_with(&pix, LOSS_COLOR, 20);
        assert!(!loss.is_empty() && loss.iter().all(|&x| (x as f64 - x_at(0.405)).abs() < 8.0), "loss at {loss:?}");
    }
}
