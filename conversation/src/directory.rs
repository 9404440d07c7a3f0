//! Questions about the directory the data does not answer by itself:
//! which consultants handle a service. The schema links no consultant to a
//! service; a consultant's specialty and bio say what they do.

use crate::understand::text::fold;

/// Words of a service's name that say nothing of its subject.
const GENERIC: [&str; 7] = ["tu", "van", "buoi", "dich", "vu", "consultation", "session"];

/// A consultant as the directory question sees them.
#[derive(Clone, Copy, Debug)]
pub struct Profile<'a> {
    /// Their id.
    pub id: i64,
    /// What they do ("Thuế cá nhân", "Immigration").
    pub specialty: &'a str,
    /// A sentence or two about them.
    pub bio: &'a str,
}

/// The consultants whose specialty or bio names every subject word of
/// `service` ("Tư vấn định cư" → "định cư"), without diacritics or case.
/// Empty when the service's name has no subject word or nobody matches:
/// the caller then shows everyone.
pub fn consultants_for(service: &str, profiles: &[Profile<'_>]) -> Vec<i64> {
    let subject: Vec<String> = words(&fold(service))
        .filter(|w| !GENERIC.contains(w))
        .map(str::to_string)
        .collect();
    if subject.is_empty() {
        return Vec::new();
    }
    profiles
        .iter()
        .filter(|p| {
            let about = fold(&format!("{} {}", p.specialty, p.bio));
            let about: Vec<&str> = words(&about).collect();
            subject.iter().all(|w| about.contains(&w.as_str()))
        })
        .map(|p| p.id)
        .collect()
}

fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The demo tenant's consultants (schema/seed/consultants.csv).
    const DEMO: [Profile<'static>; 5] = [
        Profile {
            id: 1,
            specialty: "Thuế cá nhân",
            bio: "Anh An có hơn 10 năm kinh nghiệm tư vấn quyết toán và hoàn thuế thu nhập cá nhân.",
        },
        Profile {
            id: 2,
            specialty: "Pháp lý doanh nghiệp",
            bio: "Luật sư Ngọc chuyên tư vấn thành lập doanh nghiệp, hợp đồng thương mại và tranh chấp lao động.",
        },
        Profile {
            id: 3,
            specialty: "Immigration",
            bio: "Anh Phúc hỗ trợ hồ sơ du học, định cư và thẻ tạm trú cho cá nhân và gia đình.",
        },
        Profile {
            id: 4,
            specialty: "Tài chính cá nhân",
            bio: "Anh Tuấn giúp khách hàng lập kế hoạch tiết kiệm, đầu tư và hưu trí phù hợp với thu nhập.",
        },
        Profile {
            id: 6,
            specialty: "Kế toán doanh nghiệp",
            bio: "Anh Bảo từng phụ trách kế toán và báo cáo tài chính cho các doanh nghiệp vừa và nhỏ.",
        },
    ];

    #[test]
    fn each_service_finds_the_consultants_whose_work_it_names() {
        assert_eq!(consultants_for("Tư vấn thuế cá nhân", &DEMO), [1]);
        assert_eq!(consultants_for("Tư vấn pháp lý doanh nghiệp", &DEMO), [2]);
        assert_eq!(consultants_for("Tư vấn định cư", &DEMO), [3]);
        assert_eq!(consultants_for("TU VAN DINH CU", &DEMO), [3]);
    }

    #[test]
    fn a_service_without_a_subject_or_a_match_finds_nobody() {
        assert!(consultants_for("Buổi tư vấn ngắn", &DEMO).is_empty());
        assert!(consultants_for("Tư vấn", &DEMO).is_empty());
        assert!(consultants_for("Soạn thảo hợp đồng", &DEMO).is_empty());
    }
}
