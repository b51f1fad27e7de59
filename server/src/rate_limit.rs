//! Rate limits per client address and per connection (STD1-SRV-18,
//! STD1-SRV-21).
//!
//! Each limit is a GCRA bucket (`governor`): `n` requests per minute with a
//! burst of `n`. Per-address state lives only in memory and is dropped once
//! it is indistinguishable from a fresh bucket (`retain_recent`, run every
//! minute), so no key outlives its hour (STD1-SRV-1). Keys are addresses
//! reduced to what one client holds: an IPv4 address, or an IPv6 /64.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderName};
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use ipnet::IpNet;

/// What a limit protects; also the suffix of its counter name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Limit {
    /// WebSocket upgrades per address.
    Upgrade,
    /// `join` requests per address (enumeration of steg numbers).
    Join,
    /// `create` requests per address.
    Create,
    /// `join` requests carrying a `pairing_hash` (slot-2 claims) per address.
    Claim,
    /// Frames per connection.
    Frame,
    /// Administration page requests per address.
    Admin,
}

impl Limit {
    /// The limit's name in metrics and logs.
    pub const fn name(self) -> &'static str {
        match self {
            Limit::Upgrade => "upgrade",
            Limit::Join => "join",
            Limit::Create => "create",
            Limit::Claim => "claim",
            Limit::Frame => "frame",
            Limit::Admin => "admin",
        }
    }
}

/// The configured allowances; `None` switches a limit off (STD1-SRV-20).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateSettings {
    pub upgrades_per_minute: Option<NonZeroU32>,
    pub joins_per_minute: Option<NonZeroU32>,
    pub creates_per_minute: Option<NonZeroU32>,
    pub claims_per_minute: Option<NonZeroU32>,
    pub admin_per_minute: Option<NonZeroU32>,
    /// Per connection, per second.
    pub frames_per_second: Option<NonZeroU32>,
}

impl RateSettings {
    /// Every limit off, for conformance runs.
    pub const OFF: RateSettings = RateSettings {
        upgrades_per_minute: None,
        joins_per_minute: None,
        creates_per_minute: None,
        claims_per_minute: None,
        admin_per_minute: None,
        frames_per_second: None,
    };
}

/// A refusal: how long until the limit lets a request through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub limit: Limit,
    /// Whole seconds, rounded up, at least 1 (STD1-WIRE-28).
    pub retry_after: NonZeroU32,
}

/// The address a limit is keyed by: IPv4 as is, IPv6 cut to its /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey(IpAddr);

impl ClientKey {
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(IpAddr::V4(v4)),
                None => {
                    let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                    Self(IpAddr::V6(Ipv6Addr::from(prefix)))
                }
            },
            v4 => Self(v4),
        }
    }

    /// The address or prefix itself; the origin of STD1-JOIN-22.
    pub fn ip(self) -> IpAddr {
        self.0
    }
}

type KeyedLimiter = RateLimiter<ClientKey, DefaultKeyedStateStore<ClientKey>, DefaultClock>;

/// One keyed limit.
struct Keyed {
    limit: Limit,
    limiter: KeyedLimiter,
}

impl Keyed {
    fn per_minute(limit: Limit, n: Option<NonZeroU32>) -> Option<Self> {
        let n = n?;
        let quota = Quota::per_minute(n).allow_burst(n);
        Some(Self {
            limit,
            limiter: RateLimiter::dashmap(quota),
        })
    }

    fn check(&self, key: ClientKey) -> Result<(), Refused> {
        self.limiter.check_key(&key).map_err(|not_until| Refused {
            limit: self.limit,
            retry_after: whole_seconds(not_until.wait_time_from(self.limiter.clock().now())),
        })
    }
}

/// The per-address limits of one server.
pub struct RateLimits {
    upgrade: Option<Keyed>,
    join: Option<Keyed>,
    create: Option<Keyed>,
    claim: Option<Keyed>,
    admin: Option<Keyed>,
    frames_per_second: Option<NonZeroU32>,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits").finish_non_exhaustive()
    }
}

impl RateLimits {
    pub fn new(settings: RateSettings) -> Self {
        Self {
            upgrade: Keyed::per_minute(Limit::Upgrade, settings.upgrades_per_minute),
            join: Keyed::per_minute(Limit::Join, settings.joins_per_minute),
            create: Keyed::per_minute(Limit::Create, settings.creates_per_minute),
            claim: Keyed::per_minute(Limit::Claim, settings.claims_per_minute),
            admin: Keyed::per_minute(Limit::Admin, settings.admin_per_minute),
            frames_per_second: settings.frames_per_second,
        }
    }

    /// Takes one request of `limit` for `key`, or says when to retry.
    /// A switched-off limit always lets the request through.
    pub fn check(&self, limit: Limit, key: ClientKey) -> Result<(), Refused> {
        let keyed = match limit {
            Limit::Upgrade => &self.upgrade,
            Limit::Join => &self.join,
            Limit::Create => &self.create,
            Limit::Claim => &self.claim,
            Limit::Admin => &self.admin,
            Limit::Frame => &None,
        };
        keyed.as_ref().map_or(Ok(()), |k| k.check(key))
    }

    /// A fresh frame limit for one connection.
    pub fn frame_limiter(&self) -> FrameLimiter {
        FrameLimiter {
            limiter: self.frames_per_second.map(|n| {
                RateLimiter::direct(Quota::per_second(n).allow_burst(n.saturating_mul(
                    // A burst of two seconds' worth absorbs a client's
                    // queued frames after a reconnect.
                    NonZeroU32::MIN.saturating_add(1),
                )))
            }),
        }
    }

    /// The per-address limits that are switched on.
    fn keyed(&self) -> impl Iterator<Item = &Keyed> {
        [
            &self.upgrade,
            &self.join,
            &self.create,
            &self.claim,
            &self.admin,
        ]
        .into_iter()
        .flatten()
    }

    /// Forgets addresses whose buckets are full again (STD1-SRV-1).
    pub fn forget_idle(&self) {
        for keyed in self.keyed() {
            keyed.limiter.retain_recent();
            keyed.limiter.shrink_to_fit();
        }
    }

    /// How many addresses the limits currently remember.
    pub fn remembered(&self) -> usize {
        self.keyed().map(|k| k.limiter.len()).sum()
    }
}

/// The frame allowance of one connection.
pub struct FrameLimiter {
    limiter: Option<RateLimiter<NotKeyed, InMemoryState, DefaultClock>>,
}

impl FrameLimiter {
    /// Takes one frame, or says when to retry.
    pub fn check(&self) -> Result<(), Refused> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        limiter.check().map_err(|not_until| Refused {
            limit: Limit::Frame,
            retry_after: whole_seconds(not_until.wait_time_from(limiter.clock().now())),
        })
    }
}

/// A wait as whole seconds, rounded up, at least one.
fn whole_seconds(wait: Duration) -> NonZeroU32 {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    u32::try_from(seconds)
        .ok()
        .and_then(NonZeroU32::new)
        .unwrap_or(NonZeroU32::MIN)
}

/// Where the client address comes from (STD1-SRV-21).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientAddressSource {
    /// The header a trusted proxy puts the client address in.
    pub header: Option<HeaderName>,
    /// The proxies allowed to set it.
    pub trusted: Vec<IpNet>,
}

impl ClientAddressSource {
    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.trusted.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: the transport peer, unless the peer is a
    /// trusted proxy and the configured header names someone else. In a
    /// list, the rightmost address that is not a trusted proxy is the
    /// client; anything unparsable falls back to the peer.
    pub fn client_ip(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
        let peer_ip = canonical(peer.ip());
        let Some(header) = &self.header else {
            return peer_ip;
        };
        if !self.trusts(peer_ip) {
            return peer_ip;
        }
        // Several instances of the header read as one list, in order.
        let mut hops: Vec<IpAddr> = Vec::new();
        for value in headers.get_all(header) {
            let Ok(value) = value.to_str() else {
                return peer_ip;
            };
            for item in value.split(',') {
                match parse_hop(item.trim()) {
                    Some(ip) => hops.push(canonical(ip)),
                    None => return peer_ip,
                }
            }
        }
        let Some(first) = hops.first().copied() else {
            return peer_ip;
        };
        hops.iter()
            .rev()
            .copied()
            .find(|ip| !self.trusts(*ip))
            .unwrap_or(first)
    }
}

/// An address as proxies write it: bare, or with a port (`1.2.3.4:5`,
/// `[::1]:5`).
fn parse_hop(item: &str) -> Option<IpAddr> {
    item.parse::<IpAddr>()
        .ok()
        .or_else(|| item.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// IPv4-mapped IPv6 addresses as IPv4, so one client has one form.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn nz(n: u32) -> Option<NonZeroU32> {
        NonZeroU32::new(n)
    }

    fn source(trusted: &[&str]) -> ClientAddressSource {
        ClientAddressSource {
            header: Some(HeaderName::from_static("x-forwarded-for")),
            trusted: trusted.iter().map(|n| n.parse().expect("net")).collect(),
        }
    }

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_str(value).expect("value"),
        );
        headers
    }

    fn peer(ip: &str) -> SocketAddr {
        SocketAddr::new(ip.parse().expect("ip"), 40000)
    }

    #[test]
    fn a_burst_from_one_address_is_refused_and_another_address_is_not() {
        // STD1-SRV-18, STD1-SRV-21
        let limits = RateLimits::new(RateSettings {
            creates_per_minute: nz(3),
            ..RateSettings::OFF
        });
        let a = ClientKey::of("203.0.113.7".parse().expect("ip"));
        let b = ClientKey::of("198.51.100.9".parse().expect("ip"));
        for _ in 0..3 {
            assert_eq!(limits.check(Limit::Create, a), Ok(()));
        }
        let refused = limits.check(Limit::Create, a).expect_err("fourth refused");
        assert_eq!(refused.limit, Limit::Create);
        // One token every 20 seconds.
        assert!((1..=20).contains(&refused.retry_after.get()), "{refused:?}");
        assert_eq!(limits.check(Limit::Create, b), Ok(()));
        // Other limits keep their own buckets; switched-off ones never refuse.
        for _ in 0..100 {
            assert_eq!(limits.check(Limit::Join, a), Ok(()));
        }
    }

    #[test]
    fn ipv6_clients_share_their_slash_64() {
        // STD1-SRV-21: one subscriber, one /64.
        let limits = RateLimits::new(RateSettings {
            claims_per_minute: nz(1),
            ..RateSettings::OFF
        });
        let one = ClientKey::of("2001:db8:1:2::1".parse().expect("ip"));
        let same = ClientKey::of("2001:db8:1:2:ffff::9".parse().expect("ip"));
        let other = ClientKey::of("2001:db8:1:3::1".parse().expect("ip"));
        assert_eq!(one, same);
        assert_eq!(limits.check(Limit::Claim, one), Ok(()));
        assert!(limits.check(Limit::Claim, same).is_err());
        assert_eq!(limits.check(Limit::Claim, other), Ok(()));
    }

    #[test]
    fn the_frame_limit_is_per_connection() {
        let limits = RateLimits::new(RateSettings {
            frames_per_second: nz(5),
            ..RateSettings::OFF
        });
        let first = limits.frame_limiter();
        let second = limits.frame_limiter();
        // A burst of two seconds' worth.
        for _ in 0..10 {
            assert_eq!(first.check(), Ok(()));
        }
        let refused = first.check().expect_err("eleventh refused");
        assert_eq!(refused.retry_after.get(), 1);
        assert_eq!(second.check(), Ok(()));
    }

    #[test]
    fn the_forwarding_header_is_ignored_from_untrusted_peers() {
        // STD1-SRV-21
        let source = source(&["10.0.0.0/8"]);
        let headers = forwarded("198.51.100.1");
        assert_eq!(
            source.client_ip(peer("203.0.113.5"), &headers),
            "203.0.113.5".parse::<IpAddr>().expect("ip")
        );
        assert_eq!(
            source.client_ip(peer("10.1.2.3"), &headers),
            "198.51.100.1".parse::<IpAddr>().expect("ip")
        );
    }

    #[test]
    fn the_client_is_the_rightmost_untrusted_hop() {
        // STD1-SRV-21: a client can prepend anything; only what trusted
        // proxies appended counts.
        let source = source(&["10.0.0.0/8", "192.0.2.0/24"]);
        let headers = forwarded("1.1.1.1, 198.51.100.1, 192.0.2.10");
        assert_eq!(
            source.client_ip(peer("10.0.0.1"), &headers),
            "198.51.100.1".parse::<IpAddr>().expect("ip")
        );
        // Garbage, or no header, leaves the peer.
        for bad in ["not-an-ip", "1.1.1.1, , 2.2.2.2"] {
            assert_eq!(
                source.client_ip(peer("10.0.0.1"), &forwarded(bad)),
                "10.0.0.1".parse::<IpAddr>().expect("ip"),
                "{bad}"
            );
        }
        assert_eq!(
            source.client_ip(peer("10.0.0.1"), &HeaderMap::new()),
            "10.0.0.1".parse::<IpAddr>().expect("ip")
        );
        // Ports and IPv4-mapped forms are understood.
        assert_eq!(
            source.client_ip(peer("::ffff:10.0.0.1"), &forwarded("[2001:db8::1]:443")),
            "2001:db8::1".parse::<IpAddr>().expect("ip")
        );
    }

    #[test]
    fn without_a_header_setting_the_peer_is_the_client() {
        let source = ClientAddressSource {
            header: None,
            trusted: vec!["0.0.0.0/0".parse().expect("net")],
        };
        assert_eq!(
            source.client_ip(peer("10.0.0.1"), &forwarded("198.51.100.1")),
            "10.0.0.1".parse::<IpAddr>().expect("ip")
        );
    }
}
