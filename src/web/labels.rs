//! How the pages name the registry's states and categories: Chinese first,
//! English beside it.

use crate::domain::accounts::{OrganizationKind, OrganizationLevel, Role};
use crate::domain::penalties::PenaltyKind;
use crate::domain::procedure::{HearingStatus, Status};
use crate::domain::registry::ViolationStatus;
use crate::domain::repairs::RepairStatus;
use crate::domain::scoring::{Category, Severity};

pub fn status_label(status: Status) -> (&'static str, &'static str) {
    match status {
        Status::Proposed => ("拟列入", "Proposed"),
        Status::Noticed => (
            "已告知，陈述申辩期内",
            "Notice served; the window for your statement is open",
        ),
        Status::Listed => ("已列入严重违法失信名单并公示", "Listed and published"),
        Status::NotListed => ("决定不予列入", "Decided not to list"),
        Status::Expired => ("公示期届满，已移出", "The listing period has ended"),
        Status::Removed => ("已信用修复，移出名单", "Removed after credit repair"),
        Status::Revoked => ("已撤销", "Revoked"),
    }
}

pub fn hearing_label(status: HearingStatus) -> (&'static str, &'static str) {
    match status {
        HearingStatus::Requested => ("已申请，待举行", "Requested; to be held"),
        HearingStatus::Held => ("已举行", "Held"),
        HearingStatus::Withdrawn => ("已撤回", "Withdrawn"),
    }
}

pub fn repair_status_label(status: RepairStatus) -> (&'static str, &'static str) {
    match status {
        RepairStatus::Submitted => ("已提交，待受理", "Submitted; to be accepted"),
        RepairStatus::SupplementRequested => ("需补正材料", "Supplement requested"),
        RepairStatus::Accepted => ("已受理，审查中", "Accepted; being decided"),
        RepairStatus::Approved => ("准予信用修复", "Approved"),
        RepairStatus::Rejected => ("不予信用修复", "Rejected"),
        RepairStatus::Refused => ("不予受理", "Not accepted"),
    }
}

pub fn category_label(category: Category) -> (&'static str, &'static str) {
    match category {
        Category::FalseAdvertising => ("虚假或引人误解的宣传", "False or misleading advertising"),
        Category::PriceFraud => ("价格欺诈", "Price fraud"),
        Category::OffPlatformTransaction => ("诱导私下交易", "Luring buyers off the platform"),
        Category::DataFraud => (
            "数据造假（销量、观看量等）",
            "Faked sales or audience figures",
        ),
        Category::SubstandardProduct => ("销售不合格商品", "Substandard goods"),
        Category::AfterSalesRefusal => {
            ("拒不履行售后义务", "Refused returns or after-sales duties")
        }
        Category::Other => ("其他违法行为", "Other violation"),
    }
}

pub fn severity_label(severity: Severity) -> (&'static str, &'static str) {
    match severity {
        Severity::Minor => ("轻微", "Minor"),
        Severity::General => ("一般", "General"),
        Severity::Serious => ("严重", "Serious"),
        Severity::EspeciallySerious => ("特别严重", "Especially serious"),
    }
}

pub fn organization_kind_label(kind: OrganizationKind) -> (&'static str, &'static str) {
    match kind {
        OrganizationKind::Regulator => ("市场监督管理部门", "Regulator"),
        OrganizationKind::Platform => ("直播平台", "Platform"),
        OrganizationKind::ConsumerAssociation => ("消费者协会", "Consumer association"),
    }
}

pub fn level_label(level: OrganizationLevel) -> (&'static str, &'static str) {
    match level {
        OrganizationLevel::National => ("国家级", "National"),
        OrganizationLevel::Provincial => ("省级", "Provincial"),
        OrganizationLevel::City => ("设区的市级", "City"),
        OrganizationLevel::County => ("县级", "County"),
    }
}

pub fn role_label(role: Role) -> (&'static str, &'static str) {
    match role {
        Role::Admin => ("系统管理员", "Admin"),
        Role::Regulator => ("监管执法人员", "Regulator"),
        Role::Auditor => ("审计人员", "Auditor"),
        Role::Platform => ("平台合规人员", "Platform"),
    }
}

/// A penalty as a decision names it, with English beside it.
pub fn penalty_label(kind: PenaltyKind) -> (&'static str, &'static str) {
    let en = match kind {
        PenaltyKind::Warning => "Warning",
        PenaltyKind::Criticism => "Public criticism",
        PenaltyKind::Fine => "Fine",
        PenaltyKind::FineAggravated => "Aggravated fine (heavier)",
        PenaltyKind::Confiscation => "Confiscation",
        PenaltyKind::LicenseSuspended => "Licence suspended",
        PenaltyKind::LicenseDowngrade => "Qualification lowered (heavier)",
        PenaltyKind::LicenseRevoked => "Licence revoked (heavier)",
        PenaltyKind::BusinessRestricted => "Business restricted, suspended or closed (heavier)",
        PenaltyKind::PracticeBan => "Practice ban (heavier)",
        PenaltyKind::OtherHeavier => "Another heavier penalty",
    };
    (kind.label(), en)
}

/// A step of the listing procedure, as its history names it.
pub fn step_label(action: &str) -> (&'static str, &'static str) {
    match action {
        "propose" => ("拟列入", "Proposed"),
        "notice" => ("送达告知书", "Notice served"),
        "objection" => ("陈述申辩", "Statement received"),
        "hearing" => ("举行听证", "Hearing held"),
        "hearing_withdrawal" => ("撤回听证申请", "Hearing withdrawn"),
        "consent" => ("上级局意见", "Parent bureau's answer"),
        "decision" => ("作出决定", "Decided"),
        "repair" => ("信用修复申请", "Credit repair applied for"),
        "repair_decision" => ("信用修复决定", "Credit repair decided"),
        "reinstate" => ("恢复列入", "Reinstated"),
        "revoke" => ("撤销", "Revoked"),
        "expire" => ("公示期届满", "Period ended"),
        "recorded" => ("登记", "Recorded"),
        "decided" => ("处罚决定", "Penalty decided"),
        "revoked" => ("撤销", "Revoked"),
        _ => ("其他", "Other"),
    }
}

/// A penalty's state.
pub fn violation_status_label(status: ViolationStatus) -> (&'static str, &'static str) {
    match status {
        ViolationStatus::Pending => ("处罚待决定", "Penalty pending"),
        ViolationStatus::Effective => ("已生效", "Effective"),
        ViolationStatus::Revoked => ("已撤销", "Revoked"),
    }
}

/// A listing's state as staff read it (the portal speaks to the party: [`status_label`]).
pub fn listing_status_label(status: Status) -> (&'static str, &'static str) {
    match status {
        Status::Proposed => ("拟列入，待告知", "Proposed; notice to serve"),
        Status::Noticed => ("已告知", "Noticed"),
        Status::Listed => ("已列入并公示", "Listed and published"),
        Status::NotListed => ("决定不予列入", "Decided not to list"),
        Status::Expired => ("公示期届满", "Expired"),
        Status::Removed => ("信用修复后移出", "Removed after credit repair"),
        Status::Revoked => ("已撤销", "Revoked"),
    }
}
