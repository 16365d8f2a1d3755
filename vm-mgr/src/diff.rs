//! A line-based unified diff (as `diff -u` prints it), pure, for showing what `set-xml` and
//! `edit` change in a stored domain XML. Lines common to both ends are trimmed first; the
//! middle is aligned by a longest common subsequence, bounded: above [`MAX_CELLS`] pairs of
//! lines the middle is shown as one replacement (correct, only less tight).

/// Most line pairs the alignment looks at (a 2,000 × 2,000-line middle).
pub const MAX_CELLS: usize = 4_000_000;
/// Unchanged lines shown around each change.
const CONTEXT: usize = 3;

/// One line of the edit script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Same,
    Del,
    Add,
}

/// The unified diff of `old` to `new` with headers `--- old_label` and `+++ new_label`; empty
/// when they have the same lines.
pub fn unified(old: &str, new: &str, old_label: &str, new_label: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let script = edit_script(&a, &b);
    if script.iter().all(|(op, ..)| *op == Op::Same) {
        return String::new();
    }
    let mut out = format!("--- {old_label}\n+++ {new_label}\n");
    for hunk in hunks(&script) {
        let lines = &script[hunk.0..hunk.1];
        let (a0, b0) = (lines[0].1, lines[0].2);
        let a_len = lines.iter().filter(|l| l.0 != Op::Add).count();
        let b_len = lines.iter().filter(|l| l.0 != Op::Del).count();
        out.push_str(&format!(
            "@@ -{} +{} @@\n",
            range(a0, a_len),
            range(b0, b_len)
        ));
        for (op, i, j) in lines {
            let (mark, text) = match op {
                Op::Same => (' ', a[*i]),
                Op::Del => ('-', a[*i]),
                Op::Add => ('+', b[*j]),
            };
            out.push(mark);
            out.push_str(text);
            out.push('\n');
        }
    }
    out
}

/// `start,len` as diff -u writes it (1-based; an empty range names the line before it).
fn range(start: usize, len: usize) -> String {
    match len {
        0 => format!("{start},0"),
        1 => format!("{}", start + 1),
        _ => format!("{},{len}", start + 1),
    }
}

/// The edit script: (op, index in a, index in b) for every line, in order. For an `Add` the
/// index in `a` is where it goes; for a `Del` the index in `b` likewise.
fn edit_script(a: &[&str], b: &[&str]) -> Vec<(Op, usize, usize)> {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (am, bm) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let mut script: Vec<(Op, usize, usize)> = (0..prefix).map(|i| (Op::Same, i, i)).collect();
    for (op, i, j) in middle(am, bm) {
        script.push((op, i + prefix, j + prefix));
    }
    let (sa, sb) = (a.len() - suffix, b.len() - suffix);
    script.extend((0..suffix).map(|k| (Op::Same, sa + k, sb + k)));
    script
}

/// The edit script of two slices with nothing in common at either end.
fn middle(a: &[&str], b: &[&str]) -> Vec<(Op, usize, usize)> {
    let (n, m) = (a.len(), b.len());
    let cells = (n + 1).checked_mul(m + 1);
    if n == 0 || m == 0 || cells.is_none_or(|c| c > MAX_CELLS) {
        let mut s: Vec<_> = (0..n).map(|i| (Op::Del, i, 0)).collect();
        s.extend((0..m).map(|j| (Op::Add, n, j)));
        return s;
    }
    // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
    let w = m + 1;
    let mut lcs = vec![0u32; (n + 1) * w];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i * w + j] = if a[i] == b[j] {
                lcs[(i + 1) * w + j + 1] + 1
            } else {
                lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut s = Vec::with_capacity(n + m);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            s.push((Op::Same, i, j));
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i * w + j + 1] >= lcs[(i + 1) * w + j]) {
            s.push((Op::Add, i, j));
            j += 1;
        } else {
            s.push((Op::Del, i, j));
            i += 1;
        }
    }
    // Deletions before additions within each run of changes, as diff -u prints them.
    let mut k = 0;
    while k < s.len() {
        let end = s[k..]
            .iter()
            .position(|l| l.0 == Op::Same)
            .map_or(s.len(), |p| k + p);
        s[k..end].sort_by_key(|l| (l.0 == Op::Add, l.1, l.2));
        k = end + 1;
    }
    s
}

/// The hunks of `script`: [start, end) ranges holding changes with up to [`CONTEXT`] unchanged
/// lines around them; changes closer than twice that share a hunk.
fn hunks(script: &[(Op, usize, usize)]) -> Vec<(usize, usize)> {
    let changed: Vec<usize> = script
        .iter()
        .enumerate()
        .filter(|(_, l)| l.0 != Op::Same)
        .map(|(k, _)| k)
        .collect();
    let mut out: Vec<(usize, usize)> = Vec::new();
    for k in changed {
        let start = k.saturating_sub(CONTEXT);
        let end = (k + 1 + CONTEXT).min(script.len());
        match out.last_mut() {
            Some(last) if start <= last.1 => last.1 = end,
            _ => out.push((start, end)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_text_has_no_diff() {
        assert_eq!(unified("a\nb\n", "a\nb\n", "x", "y"), "");
        assert_eq!(unified("", "", "x", "y"), "");
    }

    #[test]
    fn one_changed_line_as_diff_u_prints_it() {
        let old = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
        let new = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n";
        // `diff -u old new` of these two files, labels aside.
        let want = "--- old\n+++ new\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n";
        assert_eq!(unified(old, new, "old", "new"), want);
    }

    #[test]
    fn insertions_deletions_and_far_apart_changes() {
        let old: String = (1..=20).map(|i| format!("{i}\n")).collect();
        let mut new: Vec<String> = (1..=20).map(|i| format!("{i}\n")).collect();
        new.remove(17);
        new.insert(2, "new after 2\n".into());
        let new: String = new.concat();
        // `diff -u` output for the same pair.
        let want = "--- a\n+++ b\n@@ -1,5 +1,6 @@\n 1\n 2\n+new after 2\n 3\n 4\n 5\n\
                    @@ -15,6 +16,5 @@\n 15\n 16\n 17\n-18\n 19\n 20\n";
        assert_eq!(unified(&old, &new, "a", "b"), want);
        // From nothing, and to nothing.
        assert_eq!(
            unified("", "x\n", "a", "b"),
            "--- a\n+++ b\n@@ -0,0 +1 @@\n+x\n"
        );
        assert_eq!(
            unified("x\ny\n", "", "a", "b"),
            "--- a\n+++ b\n@@ -1,2 +0,0 @@\n-x\n-y\n"
        );
    }

    #[test]
    fn a_middle_too_large_to_align_is_one_replacement() {
        let old: String = (0..2100).map(|i| format!("a{i}\n")).collect();
        let new: String = (0..2100).map(|i| format!("b{i}\n")).collect();
        let d = unified(&old, &new, "a", "b");
        assert!(
            d.starts_with("--- a\n+++ b\n@@ -1,2100 +1,2100 @@\n-a0\n"),
            "{}",
            &d[..60]
        );
        assert_eq!(d.lines().filter(|l| l.starts_with('-')).count(), 2101);
        assert_eq!(d.lines().filter(|l| l.starts_with('+')).count(), 2101);
    }
}
