//! Micro-benchmarks of the pure rules on the hot paths: name keys and
//! similarity (every name screening), and the score (every violation change).
//! `cargo bench --bench domain`.

use chrono::NaiveDate;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use livecredit::domain::names;
use livecredit::domain::scoring::{score, Category, ScoringPolicy, Severity, ViolationFacts};

fn name_keys(c: &mut Criterion) {
    c.bench_function("name_keys/han_3", |b| {
        b.iter(|| names::name_keys(black_box("刘德华")))
    });
    c.bench_function("name_keys/traditional_3", |b| {
        b.iter(|| names::name_keys(black_box("劉德華")))
    });
    c.bench_function("name_keys/pinyin_tones", |b| {
        b.iter(|| names::name_keys(black_box("liú dé huá")))
    });
    c.bench_function("name_keys/shop_10", |b| {
        b.iter(|| names::name_keys(black_box("杭州美丽服装有限公司")))
    });
    let a = names::name_keys("张伟");
    let z = names::name_keys("章维达");
    c.bench_function("similarity/han_pair", |b| {
        b.iter(|| names::similarity(black_box(&a), black_box(&z)))
    });
}

fn violations(n: usize) -> Vec<ViolationFacts> {
    let start = NaiveDate::from_ymd_opt(2021, 12, 1).unwrap();
    (0..n)
        .map(|i| ViolationFacts {
            id: format!("v{i:05}"),
            category: Category::ALL[i % Category::ALL.len()],
            severity: Severity::ALL[(i * 7) % Severity::ALL.len()],
            decided_on: start + chrono::Duration::days((i * 37 % 1800) as i64),
            recorded_at: start.and_hms_opt(8, 0, 0).unwrap(),
            revoked_on: None,
        })
        .collect()
}

fn scoring(c: &mut Criterion) {
    let policy = ScoringPolicy::v1();
    let as_of = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
    for n in [1usize, 10, 100, 1000] {
        let facts = violations(n);
        c.bench_function(&format!("score/{n}_violations"), |b| {
            b.iter(|| score(black_box(&policy), black_box(&facts), as_of))
        });
    }
}

criterion_group!(benches, name_keys, scoring);
criterion_main!(benches);
