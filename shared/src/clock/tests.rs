use std::time::{Duration, UNIX_EPOCH};

use jiff::tz::TimeZone;

use super::date::{parse_date_in, parse_pacemaker_time_in};
use super::*;

const PARIS: &str = "CET-1CEST,M3.5.0,M10.5.0/3";
const NEW_YORK: &str = "EST5EDT,M3.2.0,M11.1.0";

fn tz(posix: &str) -> TimeZone {
    TimeZone::posix(posix).unwrap()
}

fn utc(s: &str) -> i64 {
    parse_date_in(s, &TimeZone::UTC).unwrap()
}

#[test]
fn op_durations_bare_numbers_are_seconds() {
    let secs = |n| Ok(Duration::from_secs(n));
    for (input, want) in [
        ("120s", secs(120)),
        ("90", secs(90)),
        ("2min", secs(120)),
        ("2m", secs(120)),
        ("1h", secs(3600)),
        ("1HR", secs(3600)),
        (" 20 sec\n", secs(20)),
        ("0", secs(0)),
        ("1500ms", Ok(Duration::from_millis(1500))),
        ("2000us", Ok(Duration::from_millis(2))),
        ("7usec", Ok(Duration::from_micros(7))),
    ] {
        assert_eq!(
            parse_duration(input, Unit::Secs).map_err(|e| e.to_string()),
            want,
            "{input:?}"
        );
    }
}

#[test]
fn meta_durations_bare_numbers_are_milliseconds() {
    // Pacemaker's OCF_RESKEY_CRM_meta_* values; the full table is in ocf's env tests.
    let ms = |n| Some(Duration::from_millis(n));
    assert_eq!(parse_duration("90", Unit::Millis).ok(), ms(90));
    assert_eq!(parse_duration("0", Unit::Millis).ok(), ms(0));
    assert_eq!(parse_duration("90s", Unit::Millis).ok(), ms(90_000));
    assert_eq!(
        parse_duration("4294967295", Unit::Millis).ok(),
        Some(MAX_DURATION)
    );
}

#[test]
fn bad_durations_are_errors_that_say_why() {
    for (input, why) in [
        ("", "empty"),
        ("  ", "empty"),
        ("s", "whole non-negative number"),
        ("-5", "whole non-negative number"),
        ("+5s", "whole non-negative number"),
        ("1.5s", "fractions"),
        ("1,5s", "fractions"),
        ("20 days", "unknown unit"),
        ("x", "whole non-negative number"),
        ("5 s s", "unknown unit"),
    ] {
        let e = parse_duration(input, Unit::Secs).unwrap_err().to_string();
        assert!(e.contains(why), "{input:?}: {e}");
        assert!(e.contains(&format!("{:?}", input)), "{input:?}: {e}");
    }
}

#[test]
fn durations_overflow_into_errors_not_panics() {
    assert_eq!(
        parse_duration("4294967295ms", Unit::Secs).unwrap(),
        MAX_DURATION
    );
    assert_eq!(
        parse_duration("4294967", Unit::Secs).unwrap(),
        Duration::from_secs(4_294_967)
    );
    for input in [
        "4294967296ms",
        "4294968",
        "4294968s",
        "71583min",
        "1194h",
        "999999999999999999h",
        "18446744073709551615h",
        "18446744073709551615",
        "99999999999999999999",
        "99999999999999999999999999999999999999999ms",
    ] {
        for unit in [Unit::Secs, Unit::Millis] {
            if unit == Unit::Millis && input == "4294968" {
                continue; // 4294.968 s
            }
            let e = parse_duration(input, unit).unwrap_err().to_string();
            assert!(e.contains("too large"), "{input:?}: {e}");
        }
    }
    // Huge inputs are quoted only in part.
    let long = "9".repeat(10_000);
    let e = parse_duration(&long, Unit::Secs).unwrap_err().to_string();
    assert!(e.len() < 200, "{e}");
}

#[test]
fn log_timestamps_are_utc_with_milliseconds() {
    assert_eq!(utc_millis(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
    let t = UNIX_EPOCH + Duration::from_millis(951_782_400_123); // leap day 2000
    assert_eq!(utc_millis(t), "2000-02-29T00:00:00.123Z");
    let t = UNIX_EPOCH + Duration::from_secs(1_763_777_160); // 2025-11-22 02:06:00
    assert_eq!(utc_millis(t), "2025-11-22T02:06:00.000Z");
    let t = UNIX_EPOCH + Duration::from_nanos(946_684_799_999_999_999);
    assert_eq!(utc_millis(t), "1999-12-31T23:59:59.999Z");
    assert_eq!(
        utc_millis(UNIX_EPOCH - Duration::from_secs(5)),
        "1970-01-01T00:00:00.000Z"
    );
}

#[test]
fn utc_timestamps_cross_leap_days_and_year_boundaries() {
    assert_eq!(utc_secs(0), "1970-01-01T00:00:00Z");
    assert_eq!(utc_secs(1_709_210_096), "2024-02-29T12:34:56Z");
    assert_eq!(utc_secs(946_684_799), "1999-12-31T23:59:59Z");
    assert_eq!(utc_secs(946_684_800), "2000-01-01T00:00:00Z");
    // 2100 is not a leap year: 28 February is followed by 1 March.
    assert_eq!(utc_secs(4_107_499_200), "2100-02-28T12:00:00Z");
    assert_eq!(utc_secs(4_107_499_200 + 43_200), "2100-03-01T00:00:00Z");
    // Far beyond year 9999: clamped, no panic.
    assert!(
        utc_secs(u64::MAX).starts_with("9999-12-"),
        "{}",
        utc_secs(u64::MAX)
    );
    assert!(pacemaker_date(u64::MAX).starts_with("9999-12-"));
}

#[test]
fn pacemaker_dates_are_utc_civil_time() {
    assert_eq!(pacemaker_date(0), "1970-01-01 00:00:00Z");
    assert_eq!(pacemaker_date(1_700_000_000), "2023-11-14 22:13:20Z");
    assert_eq!(pacemaker_date(951_782_400), "2000-02-29 00:00:00Z");
    assert_eq!(pacemaker_date(946_684_799), "1999-12-31 23:59:59Z");
}

#[test]
fn now_is_after_this_code_was_written() {
    let now = unix_secs();
    assert!(now > 1_790_000_000, "{now}");
    assert!(since_epoch().as_secs() >= now);
}

#[test]
fn seapath_dates_round_trip_in_utc() {
    assert_eq!(utc("01/01/1970 00:00:00"), 0);
    assert_eq!(utc("29/02/2024 12:34:56"), 1_709_210_096);
    assert_eq!(utc(" 31/12/1999 23:59:59 "), 946_684_799);
    assert_eq!(utc("01/01/2000 00:00:00"), 946_684_800);
    assert_eq!(utc("31/12/1969 23:59:59"), -1);
}

#[test]
fn iso_dates_with_offsets_mean_the_same_instant_everywhere() {
    for zone in [TimeZone::UTC, tz(PARIS), tz(NEW_YORK)] {
        let at = |s| parse_date_in(s, &zone).unwrap();
        assert_eq!(at("2026-11-01T00:00:00Z"), 1_793_491_200);
        assert_eq!(at("2026-11-01T00:00:00z"), 1_793_491_200);
        assert_eq!(at("2026-11-01 00:00:00Z"), 1_793_491_200);
        assert_eq!(at("2026-11-01T01:00:00+01:00"), 1_793_491_200);
        assert_eq!(at("2026-10-31T19:00:00-05:00"), 1_793_491_200);
        assert_eq!(at("2026-11-01T00:00:00.750Z"), 1_793_491_200);
    }
    // The public entry point, whatever the system time zone.
    assert_eq!(parse_date("2026-11-01T00:00:00Z").unwrap(), 1_793_491_200);
}

/// Checks `(zone, date, seconds since the epoch)` rows.
fn check_local(rows: &[(&str, &str, i64)]) {
    for &(zone, date, want) in rows {
        let zone_tz = if zone == "UTC" {
            TimeZone::UTC
        } else {
            tz(zone)
        };
        assert_eq!(
            parse_date_in(date, &zone_tz).map_err(|e| e.to_string()),
            Ok(want),
            "{date:?} in {zone}"
        );
    }
}

#[test]
fn dates_without_offset_are_local_time() {
    const NOV_1: i64 = 1_793_491_200; // 2026-11-01T00:00:00Z
    check_local(&[
        ("UTC", "2026-11-01 00:00:00", NOV_1),
        ("UTC", "2026-11-01T00:00:00", NOV_1),
        ("UTC", "2026-11-01", NOV_1),
        // Winter time (UTC+1) after the last Sunday of October, summer time (UTC+2) in July.
        (PARIS, "2026-11-01 00:00:00", NOV_1 - 3600),
        (PARIS, "01/11/2026 00:00:00", NOV_1 - 3600),
        (PARIS, "01/07/2026 12:00:00", 1_782_900_000),
        (NEW_YORK, "2026-11-01 00:00:00", NOV_1 + 4 * 3600),
    ]);
}

#[test]
fn daylight_saving_gaps_and_folds_read_as_seapath_does() {
    check_local(&[
        // 29 March 2026, 02:00 → 03:00: 02:30 does not exist; read in winter time (= 03:30
        // summer time).
        (PARIS, "29/03/2026 02:30:00", 1_774_747_800),
        (PARIS, "29/03/2026 03:30:00", 1_774_747_800),
        // 25 October 2026, 03:00 → 02:00: 02:30 happens twice; the first (summer time) is meant.
        (PARIS, "25/10/2026 02:30:00", 1_792_888_200),
        (PARIS, "2026-10-25T02:30:00", 1_792_888_200),
        // The same in New York (second Sunday of March, first Sunday of November 2024).
        (NEW_YORK, "10/03/2024 02:30:00", 1_710_055_800),
        (NEW_YORK, "03/11/2024 01:30:00", 1_730_611_800),
    ]);
}

#[test]
fn bad_dates_are_clear_errors() {
    // More in vm-mgr's purge tests, through the system time zone.
    for bad in [
        "29/02/2023 12:00:00",
        "32/01/2024 00:00:00",
        "01/01/2024 00:00",
        "01/01/99999 00:00:00",
        "2024-02-30 00:00:00",
        "2026-11-01T25:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-11-01T00:00:00+26:00",
        "+100000-01-01T00:00:00Z",
        "2026-11-01T00:00:00 Europe/Paris",
        "yesterday",
        "",
    ] {
        for zone in [TimeZone::UTC, tz(PARIS)] {
            let e = parse_date_in(bad, &zone).unwrap_err().to_string();
            assert!(e.starts_with(&format!("invalid date {bad:?}: ")), "{e}");
            assert!(e.contains("dd/mm/YYYY HH:MM:SS\" (local time"), "{e}");
            assert!(e.contains("RFC 3339"), "{e}");
        }
    }
    let long = format!("{}Z", "1".repeat(5000));
    let e = parse_date_in(&long, &TimeZone::UTC)
        .unwrap_err()
        .to_string();
    assert!(e.contains("longer than 64 characters"), "{e}");
    assert!(e.contains("dd/mm/YYYY HH:MM:SS"), "{e}");
    assert!(e.len() < 400, "{e}");
}

#[test]
fn pacemaker_times_in_ctime_and_utc() {
    // Recorded: crm_mon's last-rc-change (sandbox node, UTC) and a fence_event's completed.
    let utc_tz = TimeZone::UTC;
    assert_eq!(
        parse_pacemaker_time_in("Thu Dec  3 10:59:31 2026", &utc_tz),
        Some(utc("2026-12-03T10:59:31Z"))
    );
    assert_eq!(
        parse_pacemaker_time_in("Sun Nov 22 02:08:21 2026", &utc_tz),
        Some(utc("2026-11-22T02:08:21Z"))
    );
    assert_eq!(
        parse_pacemaker_time_in("2026-11-22 02:10:40Z", &tz("CET-1")),
        Some(utc("2026-11-22T02:10:40Z"))
    );
    // ctime is local time: one hour east of UTC is an hour earlier.
    assert_eq!(
        parse_pacemaker_time_in("Sun Nov 22 03:08:21 2026", &tz("CET-1")),
        Some(utc("2026-11-22T02:08:21Z"))
    );
    for bad in [
        "",
        "yesterday",
        "Sun Nov 32 02:08:21 2026",
        &"x".repeat(100),
    ] {
        assert_eq!(parse_pacemaker_time_in(bad, &utc_tz), None, "{bad}");
    }
}
