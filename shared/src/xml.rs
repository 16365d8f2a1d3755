//! A small owned XML tree, read with quick-xml's pull parser.
//!
//! Pacemaker's outputs (`crm_mon --output-as=xml`, `cibadmin --query`, the `pacemaker-result`
//! envelope of the other tools; [`crate::pacemaker`]), domain XML ([`crate::libvirt`]) and
//! `drbdadm dump-xml` ([`crate::drbd`]) are read into [`Element`]s first and only then into
//! typed views,
//! so that unknown elements and attributes are simply never looked at (a newer Pacemaker adding
//! some does no harm), repeated or interleaved children are no problem, and the tree can be
//! changed and written back with [`Element::to_xml`] (for CIB transactions: read the CIB, edit
//! the tree, `crm_diff` the two documents).
//!
//! Comments, processing instructions, the XML declaration and a DOCTYPE are dropped. Text is
//! kept per element (all its text pieces concatenated, entities resolved); whitespace-only text
//! (indentation) is dropped.

use quick_xml::escape::{escape, resolve_predefined_entity};
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

/// A document that is not well-formed XML with one root element.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Could not parse {what}: {detail}.")]
pub struct XmlError {
    /// What was being parsed ("crm_mon XML", "the CIB", "domain.xml").
    pub what: String,
    /// What was wrong with it.
    pub detail: String,
}

impl XmlError {
    fn new(what: &str, detail: impl Into<String>) -> XmlError {
        XmlError {
            what: what.to_owned(),
            detail: detail.into(),
        }
    }
}

/// The deepest nesting [`Element::parse`] accepts (libxml2's default limit, which Pacemaker's
/// own parser applies too). A tree is walked, cloned, written and dropped recursively, so this
/// bound is what keeps a hostile document (100,000 nested elements) from overflowing the stack.
pub const MAX_DEPTH: usize = 256;

/// One XML element with its attributes (in document order), child elements and text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    /// The tag name, as written (with a prefix, if any).
    pub name: String,
    /// Attributes in document order, values unescaped.
    pub attrs: Vec<(String, String)>,
    /// Child elements in document order.
    pub children: Vec<Element>,
    /// The element's own text (entities resolved), concatenated; empty if it was only
    /// whitespace.
    pub text: String,
}

impl Element {
    /// A new element without attributes, children or text.
    pub fn new(name: impl Into<String>) -> Element {
        Element {
            name: name.into(),
            ..Element::default()
        }
    }

    /// Parses a whole document and returns its root element.
    ///
    /// `what` names the document in errors ("crm_mon XML", "the CIB", ...). A document must
    /// have exactly one root element, every element must be closed with its own name, and
    /// nothing but whitespace, comments or processing instructions may follow the root.
    pub fn parse(xml: &str, what: &str) -> Result<Element, XmlError> {
        let mut reader = Reader::from_str(xml);
        let mut stack: Vec<Element> = Vec::new();
        let mut root: Option<Element> = None;
        loop {
            let pos = reader.buffer_position();
            let event = reader.read_event().map_err(|e| {
                let at = reader.error_position();
                XmlError::new(what, format!("malformed XML at byte {at}: {e}"))
            })?;
            match event {
                Event::Start(start) => {
                    check_no_second_root(&root, &stack, what, pos)?;
                    if stack.len() >= MAX_DEPTH {
                        return Err(XmlError::new(
                            what,
                            format!("elements nested deeper than {MAX_DEPTH} levels at byte {pos}"),
                        ));
                    }
                    stack.push(element_from_start(&start, what)?);
                }
                Event::Empty(start) => {
                    check_no_second_root(&root, &stack, what, pos)?;
                    let element = element_from_start(&start, what)?;
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(element),
                        None => root = Some(element),
                    }
                }
                Event::End(_) => {
                    // quick-xml checks that the end tag matches the open one.
                    let Some(mut element) = stack.pop() else {
                        return Err(XmlError::new(
                            what,
                            format!("unexpected closing tag at byte {pos}"),
                        ));
                    };
                    // Indentation between child elements is layout, not content.
                    if element.text.trim().is_empty() {
                        element.text.clear();
                    }
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(element),
                        None => root = Some(element),
                    }
                }
                Event::Text(text) => {
                    let content = text.xml_content(XmlVersion::Implicit1_0);
                    push_text(&mut stack, &root, &content, what, pos)?;
                }
                Event::CData(data) => {
                    let content = data.xml_content(XmlVersion::Implicit1_0);
                    push_text(&mut stack, &root, &content, what, pos)?;
                }
                Event::GeneralRef(reference) => {
                    let resolved = resolve_reference(&reference, what, pos)?;
                    push_text(&mut stack, &root, &resolved, what, pos)?;
                }
                Event::Eof => break,
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
            }
        }
        if let Some(open) = stack.last() {
            return Err(XmlError::new(
                what,
                format!("document ends inside <{}>", open.name),
            ));
        }
        root.ok_or_else(|| XmlError::new(what, "no XML element found (empty output?)"))
    }

    /// The value of attribute `name`, if present.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Sets attribute `name` (replacing its value in place, or appending it).
    pub fn set_attr(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self.attrs.iter_mut().find(|(k, _)| k == name) {
            Some(slot) => slot.1 = value,
            None => self.attrs.push((name.to_string(), value)),
        }
    }

    /// Removes attribute `name`; returns its old value.
    pub fn remove_attr(&mut self, name: &str) -> Option<String> {
        let index = self.attrs.iter().position(|(k, _)| k == name)?;
        Some(self.attrs.remove(index).1)
    }

    /// The first child element called `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The first child element called `name`, mutable.
    pub fn child_mut(&mut self, name: &str) -> Option<&mut Element> {
        self.children.iter_mut().find(|c| c.name == name)
    }

    /// All child elements called `name`, in document order.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The element itself and all its descendants, depth first, in document order.
    pub fn descendants(&self) -> Vec<&Element> {
        fn walk<'a>(element: &'a Element, out: &mut Vec<&'a Element>) {
            out.push(element);
            for child in &element.children {
                walk(child, out);
            }
        }
        let mut out = Vec::new();
        walk(self, &mut out);
        out
    }

    /// The first element (this one or a descendant) whose `id` attribute is `id`.
    pub fn find_id(&self, id: &str) -> Option<&Element> {
        if self.attr("id") == Some(id) {
            return Some(self);
        }
        self.children.iter().find_map(|c| c.find_id(id))
    }

    /// The first element (this one or a descendant) whose `id` attribute is `id`, mutable.
    pub fn find_id_mut(&mut self, id: &str) -> Option<&mut Element> {
        if self.attr("id") == Some(id) {
            return Some(self);
        }
        self.children.iter_mut().find_map(|c| c.find_id_mut(id))
    }

    /// The text, trimmed.
    pub fn text_trimmed(&self) -> &str {
        self.text.trim()
    }

    /// Writes the element as XML, indented by two spaces per level (Pacemaker's own layout).
    ///
    /// Whitespace-only text is dropped; other text is written escaped, inline.
    pub fn to_xml(&self) -> String {
        let mut out = String::new();
        self.write_into(&mut out, 0, None);
        out
    }

    /// [`to_xml`](Self::to_xml) without the direct children named `skip` (a CIB without its
    /// status section), written from this tree as it is, without copying it.
    pub fn to_xml_without(&self, skip: &str) -> String {
        let mut out = String::new();
        self.write_into(&mut out, 0, Some(skip));
        out
    }

    fn write_into(&self, out: &mut String, depth: usize, skip: Option<&str>) {
        let mut children = self
            .children
            .iter()
            .filter(|c| skip != Some(c.name.as_str()))
            .peekable();
        let indent = "  ".repeat(depth);
        out.push_str(&indent);
        out.push('<');
        out.push_str(&self.name);
        for (k, v) in &self.attrs {
            out.push(' ');
            out.push_str(k);
            out.push_str("=\"");
            out.push_str(&escape(v.as_str()));
            out.push('"');
        }
        let text = if self.text.trim().is_empty() {
            ""
        } else {
            self.text.as_str()
        };
        if children.peek().is_none() && text.is_empty() {
            out.push_str("/>\n");
            return;
        }
        out.push('>');
        out.push_str(&escape(text));
        if children.peek().is_some() {
            out.push('\n');
            for child in children {
                child.write_into(out, depth + 1, None);
            }
            out.push_str(&indent);
        }
        out.push_str("</");
        out.push_str(&self.name);
        out.push_str(">\n");
    }
}

fn element_from_start(start: &BytesStart<'_>, what: &str) -> Result<Element, XmlError> {
    let name = start.name().as_ref().to_string();
    let mut element = Element::new(name);
    for attr in start.attributes() {
        let attr = attr.map_err(|e| {
            XmlError::new(what, format!("bad attribute in <{}>: {e}", element.name))
        })?;
        let key = attr.key.as_ref().to_string();
        let value = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| {
                XmlError::new(
                    what,
                    format!("bad value of {key} in <{}>: {e}", element.name),
                )
            })?
            .into_owned();
        element.attrs.push((key, value));
    }
    Ok(element)
}

/// The text of an entity or character reference (`&amp;`, `&#10;`); other entities are
/// refused (no DTD is read).
fn resolve_reference(
    reference: &quick_xml::events::BytesRef<'_>,
    what: &str,
    pos: u64,
) -> Result<String, XmlError> {
    match reference.resolve_char_ref() {
        Ok(Some(c)) => Ok(c.to_string()),
        Ok(None) => resolve_predefined_entity(reference)
            .map(str::to_owned)
            .ok_or_else(|| {
                XmlError::new(
                    what,
                    format!("unknown entity &{}; at byte {pos}", &**reference),
                )
            }),
        Err(e) => Err(XmlError::new(
            what,
            format!("bad character reference at byte {pos}: {e}"),
        )),
    }
}

fn check_no_second_root(
    root: &Option<Element>,
    stack: &[Element],
    what: &str,
    pos: u64,
) -> Result<(), XmlError> {
    if root.is_some() && stack.is_empty() {
        return Err(XmlError::new(
            what,
            format!("a second root element starts at byte {pos}"),
        ));
    }
    Ok(())
}

fn push_text(
    stack: &mut [Element],
    root: &Option<Element>,
    text: &str,
    what: &str,
    pos: u64,
) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(current) => current.text.push_str(text),
        None if text.trim().is_empty() => {}
        None if root.is_some() => {
            return Err(XmlError::new(
                what,
                format!("text after the root element at byte {pos}"),
            ))
        }
        None => {
            return Err(XmlError::new(
                what,
                format!("text before the root element at byte {pos} (not XML?)"),
            ))
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_attributes_children_text_and_entities() {
        let xml = "<?xml version=\"1.0\"?>\n<!-- c --><a x=\"1 &amp; 2\" y='&lt;'>\
                   <b/>t&#x41;&gt;<c id=\"i\"><d/></c><![CDATA[<raw>]]></a>\n";
        let a = Element::parse(xml, "test").unwrap();
        assert_eq!(a.name, "a");
        assert_eq!(a.attr("x"), Some("1 & 2"));
        assert_eq!(a.attr("y"), Some("<"));
        assert_eq!(a.attr("z"), None);
        assert_eq!(a.children.len(), 2);
        assert_eq!(a.text, "tA><raw>");
        assert_eq!(a.find_id("i").unwrap().name, "c");
        let names: Vec<&str> = a.descendants().iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c", "d"]);
    }

    #[test]
    fn to_xml_without_leaves_out_only_the_direct_children_so_named() {
        let xml = "<cib epoch=\"1\"><configuration><status id=\"deep\"/></configuration>\
                   <status><node_state id=\"1\"/></status></cib>";
        let cib = Element::parse(xml, "test").unwrap();
        let mut expected = cib.clone();
        expected.children.retain(|c| c.name != "status");
        assert_eq!(cib.to_xml_without("status"), expected.to_xml());
        assert!(cib.to_xml_without("status").contains("id=\"deep\""));
        assert!(!cib.to_xml_without("status").contains("node_state"));
        // Nothing so named: the same as to_xml; every child left out: an empty element.
        assert_eq!(cib.to_xml_without("nodes"), cib.to_xml());
        let only = Element::parse("<cib a=\"1\"><status/></cib>", "test").unwrap();
        assert_eq!(only.to_xml_without("status"), "<cib a=\"1\"/>\n");
    }

    #[test]
    fn round_trips_through_to_xml() {
        let xml = "<cib epoch=\"1\"><configuration><resources>\
                   <primitive id=\"p&quot;1\" class=\"ocf\"/></resources></configuration>\
                   <x>a &lt; b</x></cib>";
        let mut cib = Element::parse(xml, "test").unwrap();
        let again = Element::parse(&cib.to_xml(), "test").unwrap();
        assert_eq!(cib, again);
        cib.set_attr("epoch", "2");
        cib.set_attr("admin_epoch", "0");
        assert_eq!(cib.remove_attr("admin_epoch").as_deref(), Some("0"));
        let p = cib.find_id_mut("p\"1").unwrap();
        p.set_attr("type", "Dummy");
        let out = cib.to_xml();
        assert!(
            out.starts_with("<cib epoch=\"2\">\n  <configuration>\n"),
            "{out}"
        );
        assert!(
            out.contains("id=\"p&quot;1\" class=\"ocf\" type=\"Dummy\"/>"),
            "{out}"
        );
        assert!(out.contains("<x>a &lt; b</x>"), "{out}");
    }

    #[test]
    fn nesting_is_limited_to_max_depth_and_a_deep_document_fails_fast() {
        let nested = |n: usize| format!("{}{}", "<a>".repeat(n), "</a>".repeat(n));
        let ok = Element::parse(&nested(MAX_DEPTH), "doc").unwrap();
        assert_eq!(ok.descendants().len(), MAX_DEPTH);
        let e = Element::parse(&nested(MAX_DEPTH + 1), "doc").unwrap_err();
        assert!(
            e.to_string().contains("nested deeper than 256 levels"),
            "{e}"
        );
        // 100,000 levels: refused, no stack overflow while parsing or dropping
        let e = Element::parse(&nested(100_000), "the domain XML").unwrap_err();
        assert!(e.to_string().contains("the domain XML"), "{e}");
        let e = Element::parse(&"<a>".repeat(100_000), "doc").unwrap_err();
        assert!(e.to_string().contains("nested deeper"), "{e}");
    }

    #[test]
    fn malformed_documents_are_parse_errors_naming_the_document() {
        for (xml, needle) in [
            ("", "no XML element"),
            ("   \n", "no XML element"),
            ("<a><b></a>", "malformed XML"),
            ("<a>", "ends inside <a>"),
            ("<a/><b/>", "second root"),
            ("<a/>junk", "text after the root"),
            ("Error: not connected", "text before the root"),
            ("<a x=\"&bogus;\"/>", "bad value"),
            ("<a>&bogus;</a>", "unknown entity"),
            ("<a x=1/>", "bad attribute"),
        ] {
            let err = Element::parse(xml, "crm_mon XML").unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains("crm_mon XML"), "{xml:?}: {msg}");
            assert!(msg.contains(needle), "{xml:?}: {msg}");
        }
    }
}
