//! The hotspot lifecycle: *phát hiện → đang xác minh, đấu tranh → đã triệt xóa → tái phức tạp*.
//!
//! ```
//! use vigil::hotspots::Status;
//! assert!(Status::Reported.can_become(Status::Verifying));
//! assert!(!Status::Eliminated.can_become(Status::Reported));
//! ```

use serde::{Deserialize, Serialize};

/// Where a hotspot stands in the fight against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// *Phát hiện* — reported, not yet acted on.
    Reported,
    /// *Đang xác minh, đấu tranh* — being verified / fought.
    Verifying,
    /// *Đã triệt xóa* — eliminated.
    Eliminated,
    /// *Tái phức tạp* — re-emerged after elimination.
    Reemerged,
}

/// A transition the lifecycle does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a hotspot cannot go from `{}` ({}) to `{}` ({}); allowed from `{}`: {}", from.code(), from.label_vi(), to.code(), to.label_vi(), from.code(), allowed_list(*from))]
pub struct TransitionError {
    pub from: Status,
    pub to: Status,
}

fn allowed_list(from: Status) -> String {
    let next: Vec<&str> = from.next().iter().map(|s| s.code()).collect();
    if next.is_empty() {
        "none".into()
    } else {
        next.join(", ")
    }
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Reported,
        Status::Verifying,
        Status::Eliminated,
        Status::Reemerged,
    ];

    /// The stable code used in the API and the store.
    pub fn code(self) -> &'static str {
        match self {
            Status::Reported => "reported",
            Status::Verifying => "verifying",
            Status::Eliminated => "eliminated",
            Status::Reemerged => "reemerged",
        }
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            Status::Reported => "Phát hiện",
            Status::Verifying => "Đang xác minh, đấu tranh",
            Status::Eliminated => "Đã triệt xóa",
            Status::Reemerged => "Tái phức tạp",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Status::Reported => "Reported",
            Status::Verifying => "Being verified / fought",
            Status::Eliminated => "Eliminated",
            Status::Reemerged => "Re-emerged",
        }
    }

    /// Map colour for the status (web map legend).
    pub fn color(self) -> &'static str {
        match self {
            Status::Reported => "#e67e22",
            Status::Verifying => "#f1c40f",
            Status::Eliminated => "#27ae60",
            Status::Reemerged => "#c0392b",
        }
    }

    pub fn from_code(code: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.code() == code)
    }

    /// The statuses this one may move to.
    ///
    /// A reported hotspot may be eliminated directly (a raid without a verification phase); an
    /// eliminated one can only re-emerge; a re-emerged one is fought again or eliminated again.
    pub fn next(self) -> &'static [Status] {
        match self {
            Status::Reported => &[Status::Verifying, Status::Eliminated],
            Status::Verifying => &[Status::Eliminated],
            Status::Eliminated => &[Status::Reemerged],
            Status::Reemerged => &[Status::Verifying, Status::Eliminated],
        }
    }

    pub fn can_become(self, to: Status) -> bool {
        self.next().contains(&to)
    }

    /// Checks a transition; staying in the same status is not a transition and is refused too.
    pub fn transition(self, to: Status) -> Result<Status, TransitionError> {
        if self.can_become(to) {
            Ok(to)
        } else {
            Err(TransitionError { from: self, to })
        }
    }

    pub fn as_u8(self) -> u8 {
        self as u8
    }
}

#[cfg(test)]
mod tests {
    use super::Status::{self, *};

    /// Every (from, to) pair and whether the lifecycle allows it.
    const TABLE: &[(Status, Status, bool)] = &[
        (Reported, Reported, false),
        (Reported, Verifying, true),
        (Reported, Eliminated, true),
        (Reported, Reemerged, false),
        (Verifying, Reported, false),
        (Verifying, Verifying, false),
        (Verifying, Eliminated, true),
        (Verifying, Reemerged, false),
        (Eliminated, Reported, false),
        (Eliminated, Verifying, false),
        (Eliminated, Eliminated, false),
        (Eliminated, Reemerged, true),
        (Reemerged, Reported, false),
        (Reemerged, Verifying, true),
        (Reemerged, Eliminated, true),
        (Reemerged, Reemerged, false),
    ];

    #[test]
    fn lifecycle_table() {
        assert_eq!(TABLE.len(), 16, "the table covers every pair");
        for &(from, to, ok) in TABLE {
            assert_eq!(from.transition(to).is_ok(), ok, "{from:?} -> {to:?}");
        }
    }

    #[test]
    fn refusal_names_both_states_and_the_way_forward() {
        let msg = Eliminated.transition(Reported).unwrap_err().to_string();
        assert!(
            msg.contains("eliminated") && msg.contains("reported") && msg.contains("reemerged"),
            "{msg}"
        );
    }

    #[test]
    fn codes_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::from_code(s.code()), Some(s));
        }
        assert_eq!(Status::from_code("closed"), None);
    }
}
