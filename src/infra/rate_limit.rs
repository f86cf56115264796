//! Keyed rate limits (a platform organization, a client address) on
//! `governor`'s GCRA: a steady rate with a burst allowance. Each instance
//! keeps its own state; behind a load balancer a limit holds per instance.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota};

pub struct KeyedLimiter<K: Hash + Eq + Clone> {
    /// None: the limit is off.
    limiter: Option<DefaultKeyedRateLimiter<K>>,
    burst: u32,
}

impl<K: Hash + Eq + Clone> KeyedLimiter<K> {
    /// `rate` requests per second, bursts of twice that; 0 turns it off.
    pub fn per_second(rate: u32) -> Self {
        let burst = rate.saturating_mul(2);
        Self::with_quota(
            NonZeroU32::new(rate)
                .zip(NonZeroU32::new(burst))
                .map(|(rate, burst)| Quota::per_second(rate).allow_burst(burst)),
        )
    }

    /// `count` requests per hour, all of which may come at once (one more
    /// every hour / `count` after that); 0 turns it off.
    pub fn per_hour(count: u32) -> Self {
        Self::with_quota(NonZeroU32::new(count).map(Quota::per_hour))
    }

    fn with_quota(quota: Option<Quota>) -> Self {
        Self {
            burst: quota.map_or(0, |q| q.burst_size().get()),
            limiter: quota.map(DefaultKeyedRateLimiter::keyed),
        }
    }

    /// Takes `cost` requests' worth for `key` (a cost above the burst counts
    /// as the whole burst), or says how many whole seconds to wait.
    pub fn check(&self, key: &K, cost: u32) -> Result<(), u64> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        let Some(cost) = NonZeroU32::new(cost.clamp(1, self.burst)) else {
            return Ok(());
        };
        match limiter.check_key_n(key, cost) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(whole_seconds(
                not_until.wait_time_from(limiter.clock().now()),
            )),
            // Unreachable with the cost clamped to the burst; refuse for a second if not.
            Err(_) => Err(1),
        }
    }

    /// Forgets keys whose state is back to fresh, so that addresses seen
    /// once do not stay in memory; call it periodically.
    pub fn retain_recent(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    /// Keys held now.
    pub fn len(&self) -> usize {
        self.limiter.as_ref().map_or(0, |l| l.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn is_off(&self) -> bool {
        self.limiter.is_none()
    }
}

/// `Retry-After` in whole seconds, at least 1.
fn whole_seconds(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

/// The key a client address is limited under: an IPv4 address (an
/// IPv4-mapped IPv6 one unwrapped) as it is, an IPv6 address by its /64,
/// the block one subscriber is usually given, so that walking through one's
/// own block does not escape the limit.
pub fn address_key(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(prefix.into())
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_pass_then_each_key_is_throttled_on_its_own() {
        let limiter = KeyedLimiter::per_second(10);
        for _ in 0..20 {
            assert!(limiter.check(&"a", 1).is_ok());
        }
        assert_eq!(limiter.check(&"a", 1), Err(1));
        assert!(limiter.check(&"b", 1).is_ok());
        assert!(KeyedLimiter::per_second(0).check(&"a", u32::MAX).is_ok());
        assert!(KeyedLimiter::<String>::per_second(0).is_off());
    }

    #[test]
    fn a_cost_above_the_burst_takes_the_whole_burst() {
        let limiter = KeyedLimiter::per_second(5);
        assert!(limiter.check(&"org", 1000).is_ok());
        assert!(limiter.check(&"org", 1).is_err());
    }

    #[test]
    fn an_hourly_limit_allows_its_count_then_names_minutes() {
        let limiter = KeyedLimiter::per_hour(20);
        for _ in 0..20 {
            assert!(limiter.check(&"x", 1).is_ok());
        }
        let wait = limiter.check(&"x", 1).unwrap_err();
        // One more query every 3 minutes.
        assert!((170..=180).contains(&wait), "{wait}");
    }

    #[test]
    fn idle_keys_are_forgotten() {
        // 1000 a second with a burst of 2000: a key is fresh again after 2 ms.
        let limiter = KeyedLimiter::per_second(1000);
        for n in 0..100u32 {
            assert!(limiter.check(&n, 1).is_ok());
        }
        assert_eq!(limiter.len(), 100);
        std::thread::sleep(Duration::from_millis(20));
        limiter.retain_recent();
        assert!(limiter.is_empty());
    }

    #[test]
    fn ipv6_addresses_share_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:203.0.113.7".parse().unwrap();
        assert_eq!(
            address_key(mapped),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
    }
}
