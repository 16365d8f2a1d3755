//! The `<constraints>` section.

use std::collections::HashMap;

use crate::pacemaker::error::PacemakerError;
use crate::pacemaker::types::{opt_flag, opt_score, opt_string, required, Role, Score};
use crate::xml::Element;

const WHAT: &str = "the CIB";

/// All constraints, by kind, each list in document order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Constraints {
    /// `rsc_location`.
    pub locations: Vec<Location>,
    /// `rsc_colocation`.
    pub colocations: Vec<Colocation>,
    /// `rsc_order`.
    pub orders: Vec<Order>,
    /// Anything else (`rsc_ticket`, newer kinds), with the resources it names.
    pub other: Vec<OtherConstraint>,
}

/// A `resource_set` inside a constraint.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResourceSet {
    /// Set id.
    pub id: String,
    /// `sequential` (absent means true).
    pub sequential: Option<bool>,
    /// `require-all` (absent means true).
    pub require_all: Option<bool>,
    /// `role` the set applies to.
    pub role: Option<Role>,
    /// `action` (order sets).
    pub action: Option<String>,
    /// `score`, if the set has its own.
    pub score: Option<Score>,
    /// The `resource_ref` ids, in order.
    pub resources: Vec<String>,
}

/// An `rsc_location`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    /// Constraint id.
    pub id: String,
    /// Resource id.
    pub rsc: Option<String>,
    /// Regular expression over resource ids (instead of `rsc`).
    pub rsc_pattern: Option<String>,
    /// Node (absent when rules decide).
    pub node: Option<String>,
    /// Score (absent when rules carry the scores).
    pub score: Option<Score>,
    /// Role it applies to.
    pub role: Option<Role>,
    /// "always", "never", "exclusive".
    pub resource_discovery: Option<String>,
    /// Whether it has `<rule>`s (their content is not modelled).
    pub has_rules: bool,
    /// Resource sets.
    pub resource_sets: Vec<ResourceSet>,
}

/// An `rsc_colocation`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Colocation {
    /// Constraint id.
    pub id: String,
    /// The dependent resource.
    pub rsc: Option<String>,
    /// The resource it is placed relative to.
    pub with_rsc: Option<String>,
    /// Score.
    pub score: Option<Score>,
    /// Role of `rsc`.
    pub rsc_role: Option<Role>,
    /// Role of `with_rsc`.
    pub with_rsc_role: Option<Role>,
    /// Node attribute that must match (default `#uname`).
    pub node_attribute: Option<String>,
    /// Resource sets.
    pub resource_sets: Vec<ResourceSet>,
}

/// An `rsc_order`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Order {
    /// Constraint id.
    pub id: String,
    /// Resource ordered first.
    pub first: Option<String>,
    /// Resource ordered after it.
    pub then: Option<String>,
    /// Action of `first` ("start", "promote", ...).
    pub first_action: Option<String>,
    /// Action of `then`.
    pub then_action: Option<String>,
    /// "Mandatory", "Optional", "Serialize".
    pub kind: Option<String>,
    /// Old-style score (0 = optional).
    pub score: Option<Score>,
    /// Whether the reverse order applies to stops.
    pub symmetrical: Option<bool>,
    /// Resource sets.
    pub resource_sets: Vec<ResourceSet>,
}

/// A constraint of a kind not modelled here.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OtherConstraint {
    /// Element name ("rsc_ticket").
    pub kind: String,
    /// Constraint id.
    pub id: String,
    /// Resources named by its `rsc` attribute and resource sets.
    pub resources: Vec<String>,
}

impl Constraints {
    /// Parses a `<constraints>` element.
    pub(crate) fn parse(e: &Element) -> Result<Constraints, PacemakerError> {
        let mut out = Constraints::default();
        for c in &e.children {
            match c.name.as_str() {
                "rsc_location" => out.locations.push(Location {
                    id: required(c, "id", WHAT)?,
                    rsc: opt_string(c, "rsc"),
                    rsc_pattern: opt_string(c, "rsc-pattern"),
                    node: opt_string(c, "node"),
                    score: opt_score(c, "score", WHAT)?,
                    role: c.attr("role").map(Role::parse),
                    resource_discovery: opt_string(c, "resource-discovery"),
                    has_rules: c.child("rule").is_some(),
                    resource_sets: sets(c)?,
                }),
                "rsc_colocation" => out.colocations.push(Colocation {
                    id: required(c, "id", WHAT)?,
                    rsc: opt_string(c, "rsc"),
                    with_rsc: opt_string(c, "with-rsc"),
                    score: opt_score(c, "score", WHAT)?,
                    rsc_role: c.attr("rsc-role").map(Role::parse),
                    with_rsc_role: c.attr("with-rsc-role").map(Role::parse),
                    node_attribute: opt_string(c, "node-attribute"),
                    resource_sets: sets(c)?,
                }),
                "rsc_order" => out.orders.push(Order {
                    id: required(c, "id", WHAT)?,
                    first: opt_string(c, "first"),
                    then: opt_string(c, "then"),
                    first_action: opt_string(c, "first-action"),
                    then_action: opt_string(c, "then-action"),
                    kind: opt_string(c, "kind"),
                    score: opt_score(c, "score", WHAT)?,
                    symmetrical: opt_flag(c, "symmetrical"),
                    resource_sets: sets(c)?,
                }),
                kind => {
                    // Anything with an id is a constraint of some newer or rarer kind.
                    let Some(id) = c.attr("id") else { continue };
                    let mut resources: Vec<String> =
                        c.attr("rsc").map(str::to_string).into_iter().collect();
                    for set in sets(c)? {
                        resources.extend(set.resources);
                    }
                    out.other.push(OtherConstraint {
                        kind: kind.to_string(),
                        id: id.to_string(),
                        resources,
                    });
                }
            }
        }
        Ok(out)
    }

    /// Ids of the constraints naming `rsc` directly, in the order locations, colocations,
    /// orders, others.
    pub fn referring_to(&self, rsc: &str) -> Vec<&str> {
        let in_sets =
            |sets: &[ResourceSet]| sets.iter().any(|s| s.resources.iter().any(|r| r == rsc));
        let is = |field: &Option<String>| field.as_deref() == Some(rsc);
        let locations = self
            .locations
            .iter()
            .filter(|c| is(&c.rsc) || in_sets(&c.resource_sets))
            .map(|c| c.id.as_str());
        let colocations = self
            .colocations
            .iter()
            .filter(|c| is(&c.rsc) || is(&c.with_rsc) || in_sets(&c.resource_sets))
            .map(|c| c.id.as_str());
        let orders = self
            .orders
            .iter()
            .filter(|c| is(&c.first) || is(&c.then) || in_sets(&c.resource_sets))
            .map(|c| c.id.as_str());
        let other = self
            .other
            .iter()
            .filter(|c| c.resources.iter().any(|r| r == rsc))
            .map(|c| c.id.as_str());
        locations
            .chain(colocations)
            .chain(orders)
            .chain(other)
            .collect()
    }

    /// [`referring_to`](Self::referring_to) for every resource at once, by resource id, each
    /// list in the same order: what a caller asking it of every VM needs (one walk instead of
    /// one per question).
    pub fn by_resource(&self) -> HashMap<&str, Vec<&str>> {
        fn add<'a>(out: &mut HashMap<&'a str, Vec<&'a str>>, id: &'a str, named: Vec<&'a str>) {
            let mut seen: Vec<&str> = Vec::new();
            for r in named {
                if !seen.contains(&r) {
                    seen.push(r);
                    out.entry(r).or_default().push(id);
                }
            }
        }
        fn in_sets(sets: &[ResourceSet]) -> impl Iterator<Item = &str> {
            sets.iter()
                .flat_map(|s| s.resources.iter().map(String::as_str))
        }
        let mut out: HashMap<&str, Vec<&str>> = HashMap::new();
        for c in &self.locations {
            let named = c
                .rsc
                .as_deref()
                .into_iter()
                .chain(in_sets(&c.resource_sets));
            add(&mut out, &c.id, named.collect());
        }
        for c in &self.colocations {
            let named = c.rsc.iter().chain(&c.with_rsc).map(String::as_str);
            add(
                &mut out,
                &c.id,
                named.chain(in_sets(&c.resource_sets)).collect(),
            );
        }
        for c in &self.orders {
            let named = c.first.iter().chain(&c.then).map(String::as_str);
            add(
                &mut out,
                &c.id,
                named.chain(in_sets(&c.resource_sets)).collect(),
            );
        }
        for c in &self.other {
            add(
                &mut out,
                &c.id,
                c.resources.iter().map(String::as_str).collect(),
            );
        }
        out
    }

    /// The location constraint called `id`.
    pub fn location(&self, id: &str) -> Option<&Location> {
        self.locations.iter().find(|c| c.id == id)
    }

    /// The colocation constraint called `id`.
    pub fn colocation(&self, id: &str) -> Option<&Colocation> {
        self.colocations.iter().find(|c| c.id == id)
    }

    /// The order constraint called `id`.
    pub fn order(&self, id: &str) -> Option<&Order> {
        self.orders.iter().find(|c| c.id == id)
    }
}

fn sets(c: &Element) -> Result<Vec<ResourceSet>, PacemakerError> {
    c.children_named("resource_set")
        .map(|set| {
            Ok(ResourceSet {
                id: required(set, "id", WHAT)?,
                sequential: opt_flag(set, "sequential"),
                require_all: opt_flag(set, "require-all"),
                role: set.attr("role").map(Role::parse),
                action: opt_string(set, "action"),
                score: opt_score(set, "score", WHAT)?,
                resources: set
                    .children_named("resource_ref")
                    .map(|r| required(r, "id", WHAT))
                    .collect::<Result<_, _>>()?,
            })
        })
        .collect()
}
