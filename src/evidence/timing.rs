//! Was the photo taken when it could show what the field team found? After the survey flight that
//! raised the flag, and not after the server received it.

use time::format_description::well_known::Rfc3339;
use time::macros::{format_description, offset};
use time::{Duration, OffsetDateTime};

use super::{PhotoInfo, PhotoWarning};

/// Slack for camera clocks: phones keep network time, cameras drift minutes a year.
pub const CLOCK_TOLERANCE: Duration = Duration::minutes(15);

/// The outcome of [`check_time`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeCheck {
    /// The time checked: `taken_at`, else the GPS fix time.
    pub taken_at: OffsetDateTime,
    /// Later than `now` by more than [`CLOCK_TOLERANCE`].
    pub in_future: bool,
    /// Earlier than `not_before` by more than [`CLOCK_TOLERANCE`].
    pub before_flight: bool,
}

/// Checks when the photo was taken against `now` (when it was received) and `not_before` (the survey
/// flight that found the plot), and sets the warnings `time_in_future` and `taken_before_flight`.
/// Running it again replaces both.
///
/// The photo's time is `taken_at`, else the GPS fix time (UTC, from the satellites, so it is kept
/// even when the camera clock is unset). `None`, and no warning, when the photo has neither (it
/// already carries `no_time` or `no_exif`).
///
/// ```
/// use time::macros::datetime;
/// use vigil::evidence::{PhotoInfo, check_time};
///
/// let mut info = PhotoInfo {
///     width: 4000, height: 3000, sha256: String::new(), gps: None, camera: None,
///     orientation: None, warnings: vec![], taken_at_offset_assumed: false,
///     taken_at: Some("2026-01-20T09:00:00+07:00".into()),
/// };
/// let flight = datetime!(2026-01-25 10:00 +7);
/// let check = check_time(&mut info, Some(flight), datetime!(2026-02-01 0:00 UTC)).unwrap();
/// assert!(check.before_flight);
/// assert!(info.has_warning("taken_before_flight"));
/// ```
pub fn check_time(
    info: &mut PhotoInfo,
    not_before: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Option<TimeCheck> {
    let taken_at = info.taken_at_time().or_else(|| {
        let gps = info.gps.as_ref()?.time_utc.as_deref()?;
        OffsetDateTime::parse(gps, &Rfc3339).ok()
    })?;
    let in_future = now
        .checked_add(CLOCK_TOLERANCE)
        .is_some_and(|latest| taken_at > latest);
    let before_flight = not_before
        .and_then(|flight| flight.checked_sub(CLOCK_TOLERANCE))
        .is_some_and(|earliest| taken_at < earliest);

    let mut warnings = Vec::new();
    if in_future {
        warnings.push(PhotoWarning::new(
            PhotoWarning::TIME_IN_FUTURE,
            format!(
                "the photo says it was taken at {}, after it was received ({}): the camera clock \
                 is wrong",
                vietnam(taken_at),
                vietnam(now)
            ),
        ));
    }
    if let (true, Some(flight)) = (before_flight, not_before) {
        warnings.push(PhotoWarning::new(
            PhotoWarning::TAKEN_BEFORE_FLIGHT,
            format!(
                "the photo was taken at {}, before the survey flight that found the plot ({}), so \
                 it cannot show what the team found",
                vietnam(taken_at),
                vietnam(flight)
            ),
        ));
    }
    info.replace_warnings(
        &[
            PhotoWarning::TIME_IN_FUTURE,
            PhotoWarning::TAKEN_BEFORE_FLIGHT,
        ],
        warnings,
    );
    Some(TimeCheck {
        taken_at,
        in_future,
        before_flight,
    })
}

/// A time as field teams read it: `2026-01-20 09:00 (UTC+7)`.
fn vietnam(t: OffsetDateTime) -> String {
    t.checked_to_offset(offset!(+7))
        .and_then(|local| {
            local
                .format(format_description!("[year]-[month]-[day] [hour]:[minute]"))
                .ok()
        })
        .map_or_else(|| t.to_string(), |s| format!("{s} (UTC+7)"))
}
