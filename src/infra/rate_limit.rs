//! A token bucket per key (a platform organization, a client address):
//! `rate` requests per second, bursts of twice that. Each instance keeps its
//! own buckets; behind a load balancer the limit is per instance.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

pub struct RateLimiter {
    rate: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// `rate` 0 turns limiting off.
    pub fn new(rate: u32) -> Self {
        Self {
            rate: f64::from(rate),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes `cost` tokens for `key`, or says how many seconds to wait.
    pub fn check(&self, key: &str, cost: f64) -> Result<(), u64> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let capacity = self.rate * 2.0;
        let now = Instant::now();
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        let (tokens, last) = buckets.entry(key.to_owned()).or_insert((capacity, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.rate).min(capacity);
        *last = now;
        let cost = cost.min(capacity);
        if *tokens >= cost {
            *tokens -= cost;
            Ok(())
        } else {
            Err(((cost - *tokens) / self.rate).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_allow_bursts_then_throttle_per_key() {
        let limiter = RateLimiter::new(10);
        for _ in 0..20 {
            assert!(limiter.check("a", 1.0).is_ok());
        }
        assert_eq!(limiter.check("a", 1.0), Err(1));
        assert!(limiter.check("b", 1.0).is_ok());
        assert!(RateLimiter::new(0).check("a", 1e9).is_ok());
    }
}
