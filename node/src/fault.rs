//! Fault hooks for the adversary's end-to-end tests. Compiled only with the `fault-injection`
//! feature (the test builds enable it; release builds and `make devnet` do not) and switched on
//! per process by an environment variable.

use std::sync::OnceLock;
use std::time::Duration;

/// `SEQPOOL_FAULT_LATE_EXTENSION=<every>:<delay_ms>`: at heights divisible by `every`, ExtendVote
/// answers after `delay_ms` with bytes that are not a `VoteExtension`. With a delay shorter than
/// `timeout_commit`, the precommit reaches the other nodes after they committed the height, and
/// CometBFT v0.38 adds it to their last commit without VerifyVoteExtension: the next proposer
/// holds a late, invalid extension (hardening issue point 2).
pub const LATE_EXTENSION_ENV: &str = "SEQPOOL_FAULT_LATE_EXTENSION";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LateExtension {
    pub every: u64,
    pub delay: Duration,
}

impl LateExtension {
    /// What the node sends instead of its extension: a field tag no protobuf decoder accepts.
    pub fn bytes(&self) -> bytes::Bytes {
        bytes::Bytes::from_static(&[0xff; 64])
    }

    pub fn applies_at(&self, height: u64) -> bool {
        self.every > 0 && height.is_multiple_of(self.every)
    }
}

fn parse(value: &str) -> Option<LateExtension> {
    let (every, delay) = value.split_once(':')?;
    Some(LateExtension {
        every: every.trim().parse().ok()?,
        delay: Duration::from_millis(delay.trim().parse().ok()?),
    })
}

/// The late-extension fault this process was started with, if any.
pub fn late_extension() -> Option<LateExtension> {
    static FAULT: OnceLock<Option<LateExtension>> = OnceLock::new();
    *FAULT.get_or_init(|| {
        let value = std::env::var(LATE_EXTENSION_ENV).ok()?;
        let fault = parse(&value);
        match fault {
            Some(f) => tracing::warn!(?f, "fault injection on: late invalid vote extensions"),
            None => tracing::error!(%value, "{LATE_EXTENSION_ENV} is not <every>:<delay_ms>"),
        }
        fault
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_switch_parses_or_stays_off() {
        let f = parse("3:150").expect("parses");
        assert_eq!(f.delay, Duration::from_millis(150));
        assert!(f.applies_at(6) && !f.applies_at(7));
        assert_eq!(parse("3"), None);
        assert_eq!(parse("x:1"), None);
        assert!(!parse("0:1").expect("parses").applies_at(0));
    }
}
