//! Timing samples and their summaries.

use std::time::Duration;

/// Durations of repeated runs of one case.
#[derive(Debug, Clone, Default)]
pub(crate) struct Samples(Vec<Duration>);

impl Samples {
    pub(crate) fn push(&mut self, sample: Duration) {
        self.0.push(sample);
    }

    fn sorted(&self) -> Vec<Duration> {
        let mut sorted = self.0.clone();
        sorted.sort();
        sorted
    }

    /// The sample at `permille` thousandths of the sorted samples (500: median, 990: p99).
    pub(crate) fn quantile(&self, permille: usize) -> Duration {
        let sorted = self.sorted();
        let last = sorted.len().saturating_sub(1);
        sorted.get(last * permille.min(1000) / 1000).copied().unwrap_or_default()
    }

    pub(crate) fn median(&self) -> Duration {
        self.quantile(500)
    }

    pub(crate) fn extend(&mut self, other: Samples) {
        self.0.extend(other.0);
    }

    pub(crate) fn max(&self) -> Duration {
        self.sorted().last().copied().unwrap_or_default()
    }
}

impl FromIterator<Duration> for Samples {
    fn from_iter<I: IntoIterator<Item = Duration>>(samples: I) -> Self {
        Self(samples.into_iter().collect())
    }
}

/// A deterministic spread of read targets: the `i`-th stream id or start position.
pub(crate) fn spread(i: usize, modulo: u64) -> u64 {
    (u64::try_from(i).unwrap_or(0).wrapping_mul(2_654_435_761)) % modulo
}

/// Whether round `round` of a case runs the raw side first. Alternating keeps either side from
/// always running on the larger table, right after the other's writes.
pub(crate) fn raw_first(round: usize) -> bool {
    round.is_multiple_of(2)
}

/// Formats a duration with a unit that keeps three significant digits.
pub(crate) fn human(duration: Duration) -> String {
    let micros = duration.as_secs_f64() * 1e6;
    if micros < 1_000.0 {
        format!("{micros:.1} µs")
    } else if micros < 1_000_000.0 {
        format!("{:.2} ms", micros / 1e3)
    } else {
        format!("{:.2} s", micros / 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_pick_from_the_sorted_samples() {
        let mut samples = Samples::default();
        for ms in [5, 1, 3, 2, 4] {
            samples.push(Duration::from_millis(ms));
        }
        assert_eq!(samples.median(), Duration::from_millis(3));
        assert_eq!(samples.quantile(1000), Duration::from_millis(5));
        assert_eq!(samples.quantile(0), Duration::from_millis(1));
        assert_eq!(Samples::default().median(), Duration::ZERO);
        assert_eq!(samples.max(), Duration::from_millis(5));
        assert_eq!(human(Duration::from_micros(1500)), "1.50 ms");
    }
}
