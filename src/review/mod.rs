//! Reviewing flagged plots (issue 5): the statuses a flag moves through, the decisions that move
//! it, the reasons a reviewer gives for a false positive, and the priority levels of the queue.
//!
//! A flag is a lead, never a verdict. The model follows MapBiomas Alerta's pre-validation →
//! validation → audit: a reviewer confirms or rejects the flag from imagery (or sends it to the
//! field), a field team records what it found and destroyed, and a rejected or not-found plot can
//! be reopened with a reason. Eradicated plots stay eradicated: a later flight that sees the plot
//! planted again raises a new flag linked to this one (re-planting, *tái trồng*).
//!
//! ```
//! use vigil::review::Status;
//! assert!(Status::New.can_become(Status::ConfirmedPoppy));
//! assert!(!Status::Eradicated.can_become(Status::New));
//! ```

use serde::Serialize;

/// Where a flag stands in review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Raised by the classifier, not yet reviewed.
    New,
    ConfirmedPoppy,
    ConfirmedCannabis,
    FalsePositive,
    NeedsFieldCheck,
    VerifiedInField,
    Eradicated,
    NotFound,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::New,
        Status::ConfirmedPoppy,
        Status::ConfirmedCannabis,
        Status::FalsePositive,
        Status::NeedsFieldCheck,
        Status::VerifiedInField,
        Status::Eradicated,
        Status::NotFound,
    ];

    /// The stable code used in the API and the store (also the decision that leads here).
    pub fn code(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::ConfirmedPoppy => "confirmed_poppy",
            Status::ConfirmedCannabis => "confirmed_cannabis",
            Status::FalsePositive => "false_positive",
            Status::NeedsFieldCheck => "needs_field_check",
            Status::VerifiedInField => "verified_in_field",
            Status::Eradicated => "eradicated",
            Status::NotFound => "not_found",
        }
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            Status::New => "Mới, chưa xem xét",
            Status::ConfirmedPoppy => "Xác nhận cây thuốc phiện",
            Status::ConfirmedCannabis => "Xác nhận cây cần sa",
            Status::FalsePositive => "Báo nhầm",
            Status::NeedsFieldCheck => "Cần kiểm tra thực địa",
            Status::VerifiedInField => "Đã xác minh tại thực địa",
            Status::Eradicated => "Đã nhổ phá",
            Status::NotFound => "Không tìm thấy tại thực địa",
        }
    }

    pub fn from_code(code: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Still waiting for someone (the review queue's default).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Status::New
                | Status::ConfirmedPoppy
                | Status::ConfirmedCannabis
                | Status::NeedsFieldCheck
                | Status::VerifiedInField
        )
    }

    /// The statuses a decision may move this one to. `New` as a target is the `reopen` decision.
    ///
    /// A confirmed flag can be sent to the field, recorded there, or overturned as a false
    /// positive (the audit step); a field check ends in verified, eradicated, not found or false
    /// positive; a verified plot is eradicated; rejected and not-found plots can be reopened;
    /// eradicated is final.
    pub fn next(self) -> &'static [Status] {
        use Status::*;
        match self {
            New => &[
                ConfirmedPoppy,
                ConfirmedCannabis,
                FalsePositive,
                NeedsFieldCheck,
            ],
            ConfirmedPoppy => &[
                ConfirmedCannabis,
                FalsePositive,
                NeedsFieldCheck,
                VerifiedInField,
                Eradicated,
                NotFound,
            ],
            ConfirmedCannabis => &[
                ConfirmedPoppy,
                FalsePositive,
                NeedsFieldCheck,
                VerifiedInField,
                Eradicated,
                NotFound,
            ],
            NeedsFieldCheck => &[
                ConfirmedPoppy,
                ConfirmedCannabis,
                FalsePositive,
                VerifiedInField,
                Eradicated,
                NotFound,
            ],
            VerifiedInField => &[Eradicated],
            FalsePositive | NotFound => &[New],
            Eradicated => &[],
        }
    }

    pub fn can_become(self, to: Status) -> bool {
        self.next().contains(&to)
    }
}

/// A decision a reviewer records: the code of the status it leads to, or `reopen`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision(pub Status);

impl Decision {
    pub const REOPEN: &'static str = "reopen";

    pub fn from_code(code: &str) -> Option<Decision> {
        if code == Decision::REOPEN {
            return Some(Decision(Status::New));
        }
        Status::from_code(code)
            .filter(|s| *s != Status::New)
            .map(Decision)
    }

    pub fn code(self) -> &'static str {
        if self.0 == Status::New {
            Decision::REOPEN
        } else {
            self.0.code()
        }
    }

    pub fn label_vi(self) -> &'static str {
        if self.0 == Status::New {
            "Mở lại"
        } else {
            self.0.label_vi()
        }
    }

    /// Every decision code, in the order the review page shows them.
    pub fn all() -> Vec<Decision> {
        Status::ALL
            .into_iter()
            .filter(|s| *s != Status::New)
            .map(Decision)
            .chain([Decision(Status::New)])
            .collect()
    }

    /// Decisions recorded from what a team saw on the ground (need the field's details).
    pub fn is_field_outcome(self) -> bool {
        matches!(
            self.0,
            Status::VerifiedInField | Status::Eradicated | Status::NotFound
        )
    }
}

/// A decision that does not follow from the flag's status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a flag that is `{}` ({}) cannot be decided `{}`; allowed now: {}", from.code(), from.label_vi(), decision.code(), allowed(*from))]
pub struct TransitionError {
    pub from: Status,
    pub decision: Decision,
}

fn allowed(from: Status) -> String {
    let next: Vec<&str> = from.next().iter().map(|s| Decision(*s).code()).collect();
    if next.is_empty() {
        "none (the status is final)".into()
    } else {
        next.join(", ")
    }
}

impl Decision {
    pub fn apply(self, from: Status) -> Result<Status, TransitionError> {
        if from.can_become(self.0) {
            Ok(self.0)
        } else {
            Err(TransitionError {
                from,
                decision: self,
            })
        }
    }
}

/// Why a flag was not what the classifier thought (`false_positive` needs one of these).
pub const REASONS: &[(&str, &str)] = &[
    (
        "lookalike_crop",
        "Cây trồng tương tự (bắp cải, cải, kiều mạch ra hoa)",
    ),
    ("flowering_plants", "Cây dại hoặc cây ăn quả đang ra hoa"),
    (
        "other_vegetation",
        "Thảm thực vật khác (rừng, lúa, ngô, chè)",
    ),
    (
        "bare_soil_or_structure",
        "Đất trống, đá, nhà hoặc công trình",
    ),
    ("image_artifact", "Bóng, mây, mù hoặc nhiễu ảnh"),
    ("duplicate", "Trùng với cờ khác"),
    ("other", "Lý do khác (ghi rõ trong ghi chú)"),
];

pub fn reason_label(code: &str) -> Option<&'static str> {
    REASONS.iter().find(|(c, _)| *c == code).map(|(_, l)| *l)
}

/// Queue priority a reviewer can set; unset flags are `normal`.
pub const PRIORITIES: &[(&str, &str)] = &[
    ("urgent", "Khẩn"),
    ("high", "Cao"),
    ("normal", "Bình thường"),
    ("low", "Thấp"),
];

/// Sort rank of a priority level (0 first).
pub fn priority_rank(level: &str) -> usize {
    PRIORITIES
        .iter()
        .position(|(c, _)| *c == level)
        .unwrap_or(2)
}

pub fn class_label_vi(class: &str) -> &'static str {
    match class {
        "poppy" => "Nghi cây thuốc phiện",
        "cannabis" => "Nghi cây cần sa",
        _ => "Khác",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pair_is_allowed_only_as_listed() {
        let allowed: &[(&str, &[&str])] = &[
            (
                "new",
                &[
                    "confirmed_poppy",
                    "confirmed_cannabis",
                    "false_positive",
                    "needs_field_check",
                ],
            ),
            ("verified_in_field", &["eradicated"]),
            ("eradicated", &[]),
            ("false_positive", &["reopen"]),
            ("not_found", &["reopen"]),
        ];
        for (from, ok) in allowed {
            let from = Status::from_code(from).unwrap();
            for d in Decision::all() {
                assert_eq!(
                    d.apply(from).is_ok(),
                    ok.contains(&d.code()),
                    "{} -> {}",
                    from.code(),
                    d.code()
                );
            }
        }
        // Nothing moves to where it already is.
        for s in Status::ALL {
            assert!(!s.can_become(s), "{}", s.code());
        }
    }

    #[test]
    fn codes_round_trip_and_reopen_is_not_new() {
        for d in Decision::all() {
            assert_eq!(Decision::from_code(d.code()), Some(d));
        }
        assert_eq!(Decision::from_code("new"), None);
        assert_eq!(Decision::from_code("approve"), None);
        let e = Decision(Status::New).apply(Status::Eradicated).unwrap_err();
        assert!(e.to_string().contains("final"), "{e}");
    }
}
