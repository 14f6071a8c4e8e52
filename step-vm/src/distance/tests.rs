//! The distance family against a direct, sort-everything reading of its definitions.

use super::*;

/// xorshift values in `[-span, span]`.
fn values(seed: u64, len: usize, span: i64) -> Vec<i32> {
    let mut s = seed | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            i32::try_from((s % (2 * span as u64 + 1)) as i64 - span).expect("in range")
        })
        .collect()
}

fn updates(seed: u64, n: usize, dim: usize, span: i64) -> Vec<Update> {
    (0..n)
        .map(|i| Update::from_fixed(values(seed + 7919 * i as u64, dim, span)))
        .collect()
}

/// `D_ij` term by term in `u128`.
fn naive_distance(a: &Update, b: &Update) -> u128 {
    a.values()
        .iter()
        .zip(b.values())
        .map(|(&x, &y)| {
            let d = i128::from(x) - i128::from(y);
            (d * d) as u128
        })
        .sum()
}

/// Score of `i` within `set`: sort the distances to the others, sum the first `m`.
fn naive_score(u: &[Update], i: usize, set: &[usize], f: usize) -> u128 {
    let mut row: Vec<u128> = set
        .iter()
        .filter(|&&j| j != i)
        .map(|&j| naive_distance(&u[i], &u[j]))
        .collect();
    row.sort_unstable();
    let m = set.len().saturating_sub(f + 2).max(1);
    row.iter().take(m).sum()
}

/// The definition, read literally: full sorts everywhere.
fn naive(selection: Selection, u: &[Update]) -> Vec<i32> {
    let n = u.len();
    let f = selection.byzantine();
    let dim = u[0].dim();
    let mean = |cols: Vec<Vec<i32>>| -> Vec<i32> {
        cols.into_iter()
            .map(|c| {
                let m = c.len() as i128;
                let s: i128 = c.iter().map(|&x| i128::from(x)).sum();
                i32::try_from((2 * s + m).div_euclid(2 * m)).expect("a mean fits")
            })
            .collect()
    };
    let all: Vec<usize> = (0..n).collect();
    match selection {
        Selection::Krum { .. } | Selection::MultiKrum { .. } => {
            let keep = match selection {
                Selection::MultiKrum { keep, .. } => usize::from(keep),
                _ => 1,
            };
            let mut order: Vec<(u128, usize)> = all
                .iter()
                .map(|&i| (naive_score(u, i, &all, f), i))
                .collect();
            order.sort_unstable();
            let chosen: Vec<usize> = order[..keep].iter().map(|&(_, i)| i).collect();
            mean(
                (0..dim)
                    .map(|c| chosen.iter().map(|&i| u[i].values()[c]).collect())
                    .collect(),
            )
        }
        Selection::Bulyan { .. } => {
            let mut remaining = all;
            let mut chosen = Vec::new();
            while chosen.len() < n - 2 * f {
                let best = *remaining
                    .iter()
                    .min_by_key(|&&i| (naive_score(u, i, &remaining, f), i))
                    .expect("non-empty");
                remaining.retain(|&i| i != best);
                chosen.push(best);
            }
            let beta = chosen.len() - 2 * f;
            mean(
                (0..dim)
                    .map(|c| {
                        let mut v: Vec<i32> = chosen.iter().map(|&i| u[i].values()[c]).collect();
                        v.sort_unstable();
                        let t = v.len();
                        let mid = i64::from(v[(t - 1) / 2]) + i64::from(v[t / 2]);
                        v.sort_unstable_by_key(|&x| ((2 * i64::from(x) - mid).abs(), x));
                        v.truncate(beta);
                        v
                    })
                    .collect(),
            )
        }
    }
}

fn rules(n: usize) -> Vec<Selection> {
    let mut out = Vec::new();
    for f in 0..=u8::try_from((n - 3) / 2).expect("small") {
        out.push(Selection::Krum { f });
        for keep in [1, 2, n - usize::from(f)] {
            out.push(Selection::MultiKrum {
                f,
                keep: u8::try_from(keep).expect("small"),
            });
        }
        if n >= 4 * usize::from(f) + 3 {
            out.push(Selection::Bulyan { f });
        }
    }
    out
}

/// Every rule valid for `u.len()` participants gives the literal reading's result.
fn every_rule_matches_the_definition(u: &[Update], label: &str) {
    for rule in rules(u.len()) {
        assert_eq!(
            distance_native(rule, u).expect("valid"),
            naive(rule, u),
            "{rule:?}, n = {}, {label}",
            u.len()
        );
    }
}

#[test]
fn matches_the_literal_definition_on_random_rounds() {
    for (seed, n, dim) in [(1, 3, 5), (2, 7, 70), (3, 8, 33), (4, 11, 100), (5, 16, 64)] {
        let u = updates(seed, n, dim, 1 << 20);
        let d = Distances::compute(&u).expect("one dimension");
        for i in 0..n {
            for j in 0..n {
                assert_eq!(d.get(i, j), naive_distance(&u[i], &u[j]), "D_{i}{j}");
            }
        }
        every_rule_matches_the_definition(&u, &format!("seed {seed}"));
    }
}

#[test]
fn few_distinct_values_exercise_every_tie() {
    // Values in {-2..2}: equal scores, duplicate updates (zero distances besides the
    // diagonal), equally close values on both sides of the median, even theta.
    for (seed, n) in [(11, 7), (12, 10), (13, 11), (14, 15)] {
        every_rule_matches_the_definition(&updates(seed, n, 48, 2), "values in -2..=2");
    }
}

#[test]
fn equal_scores_tie_to_the_lowest_index() {
    // Participants 1 and 3 are the same central update: equal (lowest) scores, 1 wins.
    let axis = |c: usize, v: i32| {
        let mut x = vec![0; 4];
        x[c] = v;
        Update::from_fixed(x)
    };
    let zero = Update::from_fixed(vec![0; 4]);
    let u = vec![
        axis(0, 1000),
        zero.clone(),
        axis(1, 1000),
        zero,
        axis(0, -1000),
        axis(1, -1000),
    ];
    let d = Distances::compute(&u).expect("one dimension");
    let scores = d.scores(1);
    assert_eq!(scores[1], scores[3]);
    assert_eq!(d.select(Selection::Krum { f: 1 }), vec![1]);
    let two = d.select(Selection::MultiKrum { f: 1, keep: 2 });
    assert_eq!(two, vec![1, 3]);
    assert_eq!(
        distance_native(Selection::Krum { f: 1 }, &u).expect("valid"),
        vec![0; 4]
    );
}

#[test]
fn closeness_ties_take_the_lower_value() {
    // Two selected values equally close to their median (10): the lower one is kept.
    let picked = [Update::from_fixed(vec![8]), Update::from_fixed(vec![12])];
    let mut out = [0i32];
    closest_to_median(&picked, &[0, 1], 1, &mut out).expect("fits");
    assert_eq!(out, [8], "|2·8 - 20| = |2·12 - 20|: the lower value");
    let picked = [4, 8, 12, 16].map(|x| Update::from_fixed(vec![x]));
    closest_to_median(&picked, &[0, 1, 2, 3], 3, &mut out).expect("fits");
    // Median 10; closeness 12, 4, 4, 12: 8 and 12, then 4 before 16.
    assert_eq!(out, [8], "(4 + 8 + 12) / 3");
}

#[test]
fn extreme_values_take_the_exact_path() {
    // |x_a - x_b| = 2^32 - 1 in every coordinate: squares of 2^64 - 2^33 + 1, far past u64.
    let dim = 3_000;
    let u = vec![
        Update::from_fixed(vec![i32::MIN; dim]),
        Update::from_fixed(vec![i32::MAX; dim]),
        Update::from_fixed(vec![0; dim]),
        Update::from_fixed(values(31, dim, i64::from(i32::MAX))),
        Update::from_fixed(vec![i32::MAX; dim]),
    ];
    let d = Distances::compute(&u).expect("one dimension");
    let full = (1u128 << 32) - 1;
    assert_eq!(d.get(0, 1), full * full * dim as u128);
    for i in 0..u.len() {
        for j in 0..u.len() {
            assert_eq!(d.get(i, j), naive_distance(&u[i], &u[j]));
        }
    }
    every_rule_matches_the_definition(&u, "extreme values");
}

#[test]
fn the_same_on_any_thread_count() {
    let u = updates(41, 9, 40_000, 1 << 30);
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool")
            .install(|| {
                rules(9)
                    .into_iter()
                    .map(|r| distance_native(r, &u).expect("valid"))
                    .collect::<Vec<_>>()
            })
    };
    let one = run(1);
    assert_eq!(one, run(2));
    assert_eq!(one, run(5));
}

#[test]
fn invalid_parameters_name_the_rule_the_parameter_and_the_bound() {
    let err = Selection::Krum { f: 3 }
        .validate(8)
        .expect_err("8 < 2·3 + 3");
    let text = err.to_string();
    assert!(
        text.contains("Krum") && text.contains(" f ") && text.contains("got 3"),
        "{text}"
    );
    let err = Selection::Bulyan { f: 2 }
        .validate(10)
        .expect_err("10 < 4·2 + 3");
    assert!(err.to_string().contains("Bulyan"), "{err}");
    assert!(Selection::Bulyan { f: 2 }.validate(11).is_ok());
    for keep in [0, 8] {
        let err = Selection::MultiKrum { f: 1, keep }
            .validate(8)
            .expect_err("keep outside 1..=7");
        let text = err.to_string();
        assert!(
            text.contains("keep") && text.contains("n - f = 7"),
            "{text}"
        );
    }
    assert!(Selection::MultiKrum { f: 1, keep: 7 }.validate(8).is_ok());
}

#[test]
fn a_shrunken_participant_set_clamps_f_instead_of_failing() {
    // Valid at openRound for 8 clients; exclusions leave 4, 2, 1 participants.
    assert_eq!(
        Selection::Krum { f: 2 }.effective(4),
        Selection::Krum { f: 0 }
    );
    assert_eq!(
        Selection::Krum { f: 2 }.effective(8),
        Selection::Krum { f: 2 }
    );
    assert_eq!(
        Selection::MultiKrum { f: 2, keep: 6 }.effective(5),
        Selection::MultiKrum { f: 1, keep: 4 }
    );
    assert_eq!(
        Selection::Bulyan { f: 1 }.effective(6),
        Selection::Bulyan { f: 0 }
    );
    assert_eq!(
        Selection::MultiKrum { f: 0, keep: 0 }.effective(5),
        Selection::MultiKrum { f: 0, keep: 1 }
    );
    for n in 1..=4 {
        let u = updates(51 + n as u64, n, 8, 10);
        for rule in [
            Selection::Krum { f: 2 },
            Selection::MultiKrum { f: 2, keep: 6 },
            Selection::Bulyan { f: 1 },
        ] {
            let effective = rule.effective(n);
            assert!(
                effective.validate(n).is_ok() || n < 3,
                "{effective:?} for n = {n}"
            );
            assert_eq!(
                distance_native(rule, &u).expect("defined for every n"),
                naive(effective, &u),
                "{rule:?}, n = {n}"
            );
        }
    }
}

#[test]
fn mismatched_dimensions_are_named() {
    let mut u = updates(61, 5, 16, 10);
    u[3] = Update::from_fixed(vec![0; 15]);
    let err = distance_native(Selection::Krum { f: 1 }, &u).expect_err("ragged");
    assert_eq!(
        err,
        VmError::DimensionMismatch {
            participant: 3,
            expected: 16,
            actual: 15
        }
    );
}

#[test]
fn pinned_results_on_every_profile_and_machine() {
    // Golden commitments: the output root of each rule on a fixed round. A change in any
    // tie rule, rounding or width shows up here, whatever the build profile, thread count or
    // SIMD level the run picks.
    let u = updates(71, 23, 1_000, 1 << 24);
    let roots: Vec<String> = [
        Selection::Krum { f: 5 },
        Selection::MultiKrum { f: 5, keep: 9 },
        Selection::Bulyan { f: 5 },
    ]
    .into_iter()
    .map(|rule| {
        let out = distance_native(rule, &u).expect("valid");
        assert_eq!(out, naive(rule, &u), "{rule:?}");
        crate::hex_digest(&Update::from_fixed(out).root())
    })
    .collect();
    assert_eq!(
        roots,
        [
            "0x12c38cfd2423872627091a03baaa98883fdcc29235dc4fdc9fb775355b9ea91d",
            "0x059e9d2eb1e9052faad56210f54b0bcd535626b37c1c82e324e6abd65def9de7",
            "0xe7894c5be38fafddb15e6ad0a7ae6dce35e0c7653326aada685f151dbe0a6af9",
        ]
    );
}
