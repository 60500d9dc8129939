//! FHIR `date`, `dateTime` and `instant` values, and the UTC rule.
//!
//! Every date zkmed commits is a **UTC calendar date**:
//!
//! * a `dateTime` / `instant` with a time-zone offset (`Z`, `+hh:mm`, `-hh:mm`) is converted
//!   to UTC before its date is taken: `2020-01-01T23:30:00-05:00` is 2020-01-02;
//! * a `date` without time (`2020-01-01`) is taken as written (it names a calendar day, not
//!   an instant);
//! * a `dateTime` with a time but without offset is invalid FHIR ("if hours and minutes
//!   are specified, a time zone SHALL be populated"); it is taken as written, as if it were
//!   UTC, and the importer adds a warning;
//! * a partial date (`2020`, `2020-05`) has no day: no date (the importer warns).

use super::values::all_digits;
use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};

/// A syntactically valid FHIR `date` / `dateTime` / `instant`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FhirDate {
    /// `YYYY-MM-DD` without time: a calendar date, taken as written.
    Date(NaiveDate),
    /// A date and time with a time-zone offset, converted to UTC.
    Utc(NaiveDateTime),
    /// A date and time WITHOUT offset (invalid FHIR): the local time as written.
    Local(NaiveDateTime),
    /// `YYYY` or `YYYY-MM`: valid FHIR, but no day.
    Partial,
}

impl FhirDate {
    /// The (UTC) calendar date; `None` for a partial date.
    pub fn date(&self) -> Option<NaiveDate> {
        match self {
            FhirDate::Date(d) => Some(*d),
            FhirDate::Utc(t) | FhirDate::Local(t) => Some(t.date()),
            FhirDate::Partial => None,
        }
    }

    /// The instant used to order records chronologically: the UTC instant; a date without
    /// time counts as the start (00:00:00) of its day; `None` for a partial date.
    pub fn instant(&self) -> Option<NaiveDateTime> {
        match self {
            FhirDate::Date(d) => Some(d.and_time(NaiveTime::MIN)),
            FhirDate::Utc(t) | FhirDate::Local(t) => Some(*t),
            FhirDate::Partial => None,
        }
    }
}

fn two_digits(s: &str, max: u32) -> Option<u32> {
    (s.len() == 2 && all_digits(s))
        .then(|| s.parse().ok())
        .flatten()
        .filter(|v| *v <= max)
}

/// `hh:mm[:ss[.fff]]` → time (a leap second `:60` counts as `:59.999999999`).
fn parse_time(t: &str) -> Option<NaiveTime> {
    let mut parts = t.splitn(3, ':');
    let h = two_digits(parts.next()?, 23)?;
    let m = two_digits(parts.next()?, 59)?;
    let (s, nanos) = match parts.next() {
        None => (0, 0),
        Some(sec) => {
            let (whole, frac) = match sec.split_once('.') {
                Some((w, f)) => (w, Some(f)),
                None => (sec, None),
            };
            let s = two_digits(whole, 60)?;
            let nanos = match frac {
                None => 0,
                Some(f) if all_digits(f) => {
                    let f9: String = f.chars().chain(std::iter::repeat('0')).take(9).collect();
                    f9.parse::<u32>().ok()?
                }
                Some(_) => return None,
            };
            if s == 60 {
                (59, 999_999_999)
            } else {
                (s, nanos)
            }
        }
    };
    NaiveTime::from_hms_nano_opt(h, m, s, nanos)
}

/// `Z` / `+hh:mm` / `-hh:mm` → offset east of UTC in seconds (FHIR allows up to ±14:00).
fn parse_offset(z: &str) -> Option<i64> {
    if z == "Z" {
        return Some(0);
    }
    let (sign, rest) = match z.as_bytes().first()? {
        b'+' => (1, &z[1..]),
        b'-' => (-1, &z[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    let h = two_digits(h, 14)?;
    let m = two_digits(m, 59)?;
    if h == 14 && m != 0 {
        return None;
    }
    Some(sign * i64::from(h * 3600 + m * 60))
}

/// Parses a FHIR `date`, `dateTime` or `instant`: `YYYY`, `YYYY-MM`, `YYYY-MM-DD`, or
/// `YYYY-MM-DDThh:mm[:ss[.fff]][Z|±hh:mm]`, converting a time with an offset to UTC (see
/// the module doc). Returns a human-readable reason on failure.
pub fn parse_fhir_date(s: &str) -> std::result::Result<FhirDate, String> {
    let bad = |why: &str| format!("{s:?} is not a valid FHIR date/dateTime: {why}");
    let (date, time) = match s.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let parts: Vec<&str> = date.split('-').collect();
    let widths_ok = parts
        .iter()
        .zip([4usize, 2, 2])
        .all(|(p, w)| p.len() == w && all_digits(p));
    if parts.len() > 3 || !widths_ok {
        return Err(bad("expected YYYY, YYYY-MM or YYYY-MM-DD"));
    }
    let num = |p: &str| p.parse::<u32>().unwrap_or(0);
    let year = num(parts[0]) as i32;
    if year == 0 {
        return Err(bad("year 0000"));
    }
    let month = parts.get(1).map(|p| num(p));
    if let Some(m) = month {
        if !(1..=12).contains(&m) {
            return Err(bad(&format!("month {m}")));
        }
    }
    let Some(day) = parts.get(2).map(|p| num(p)) else {
        return match time {
            Some(_) => Err(bad("a time needs a full date")),
            None => Ok(FhirDate::Partial),
        };
    };
    let d = NaiveDate::from_ymd_opt(year, month.unwrap_or(1), day).ok_or_else(|| {
        bad(&format!(
            "day {day} does not exist in {}-{:02}",
            parts[0],
            month.unwrap_or(1)
        ))
    })?;
    let Some(t) = time else {
        return Ok(FhirDate::Date(d));
    };
    // Split the time from its offset: `Z`, or the first `+`/`-` (the time has neither).
    let (clock, zone) = match t.find(['Z', '+', '-']) {
        Some(i) => (&t[..i], Some(&t[i..])),
        None => (t, None),
    };
    let clock = parse_time(clock).ok_or_else(|| bad("malformed time part (hh:mm:ss)"))?;
    let local = d.and_time(clock);
    match zone {
        None => Ok(FhirDate::Local(local)),
        Some(z) => {
            let off = parse_offset(z)
                .ok_or_else(|| bad("malformed time-zone offset (Z, +hh:mm or -hh:mm)"))?;
            local
                .checked_sub_signed(Duration::seconds(off))
                .map(FhirDate::Utc)
                .ok_or_else(|| bad("outside the representable range"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn dates_and_utc() {
        let date = |s: &str| parse_fhir_date(s).unwrap().date();
        assert_eq!(
            parse_fhir_date("2020-02-29"),
            Ok(FhirDate::Date(ymd(2020, 2, 29)))
        );
        assert_eq!(date("1966-01-29T06:44:05+00:00"), Some(ymd(1966, 1, 29)));
        assert_eq!(date("2012-04-07T06:44:05.416Z"), Some(ymd(2012, 4, 7)));
        // The UTC rule, both ways across midnight and across a year.
        assert_eq!(date("2020-01-01T23:30:00-05:00"), Some(ymd(2020, 1, 2)));
        assert_eq!(date("2020-01-01T01:30:00+02:00"), Some(ymd(2019, 12, 31)));
        assert_eq!(date("2019-12-31T20:00:00-14:00"), Some(ymd(2020, 1, 1)));
        assert_eq!(date("2020-03-01T00:00:00+00:30"), Some(ymd(2020, 2, 29)));
        assert_eq!(date("2020-01-01T23:59:60Z"), Some(ymd(2020, 1, 1)));
        assert_eq!(date("2020-01-01T10:00+01:00"), Some(ymd(2020, 1, 1)));
        // Without offset: as written, flagged Local.
        assert!(matches!(
            parse_fhir_date("2020-01-01T23:30:00"),
            Ok(FhirDate::Local(t)) if t.date() == ymd(2020, 1, 1)
        ));
        assert_eq!(parse_fhir_date("2020"), Ok(FhirDate::Partial));
        assert_eq!(parse_fhir_date("2020-05"), Ok(FhirDate::Partial));
        // Instants order by UTC: 23:30-05:00 is 04:30Z the next day, after 01:00Z.
        let a = parse_fhir_date("2020-01-01T23:30:00-05:00")
            .unwrap()
            .instant();
        let b = parse_fhir_date("2020-01-02T01:00:00Z").unwrap().instant();
        assert!(b < a, "01:00Z comes before 04:30Z");
        assert_eq!(
            parse_fhir_date("2020-01-02").unwrap().instant(),
            Some(ymd(2020, 1, 2).and_time(NaiveTime::MIN))
        );
        for bad in [
            "2020-13-45",
            "2021-02-29",
            "2020-1-05",
            "20200105",
            "",
            "0000-01-01",
            "2020-01-01Tx",
            "2020T10:00",
            "2020-01-01 10:00",
            "2020-00",
            "2020-01-01T24:00:00Z",
            "2020-01-01T10:61:00Z",
            "2020-01-01T10:00:00+0500",
            "2020-01-01T10:00:00+15:00",
            "2020-01-01T10:00:00+14:30",
            "2020-01-01T10:00:00.Z",
            "2020-01-01T10:00:00ZZ",
            "2020-01-01Z",
            "2020-01-01T10",
        ] {
            assert!(parse_fhir_date(bad).is_err(), "{bad:?} must fail");
        }
        assert!(parse_fhir_date("2020-13-45")
            .unwrap_err()
            .contains("month 13"));
    }
}
