//! A deterministic generator of SQL scripts that mix what makes splitting hard, each statement
//! executable and telling which it is, so Postgres itself can say where it ended each one.
//!
//! Every statement either selects one row whose first column is its marker (`s<n>`) or creates a
//! routine in `pg_temp` (no row). Between statements go whitespace, comments and empty
//! statements, all holding `;`.

/// A statement of a generated script and what Postgres returns for it.
pub struct Piece {
    /// The statement's text, without its `;`.
    pub sql: String,
    /// The marker its row holds, or `None` for a statement that returns no row.
    pub marker: Option<String>,
}

/// A generated script: its statements, and the whole text as a file would hold it.
pub struct Script {
    /// The statements, in order.
    pub pieces: Vec<Piece>,
    /// The text: statements, each ended by `;` (the last one maybe not), with separators.
    pub text: String,
}

/// A small seeded generator (SplitMix64): the same seed gives the same corpus on every machine.
pub struct Rng(u64);

impl Rng {
    /// Starts the sequence of `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    /// `word` in a random mix of cases, as keywords are case-insensitive.
    fn case(&mut self, word: &str) -> String {
        word.chars().map(|c| if self.below(2) == 0 { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() }).collect()
    }
}

/// What may stand between two statements; each holds a `;` Postgres must not split at.
const SEPARATORS: &[&str] = &[
    " ",
    "\n",
    "\r\n",
    "\n\n  \t",
    "\n-- a comment; with a semicolon\n",
    "-- begin; end;\r\n",
    " /* block; */ ",
    "\n/* outer; /* nested; */ still; */\n",
    "/*/ odd opener; */",
    "\n; ;\n",
    " ;\n",
    "\n/* -- not a line comment; */ ",
];

/// A string constant holding `;` (and quotes, backslashes) as Postgres reads it with
/// `standard_conforming_strings` on.
fn string_constant(rng: &mut Rng) -> String {
    let options: &[&str] = &[
        "'a;b'",
        "'it''s; fine'",
        "'back\\'",
        "'c:\\;\\'",
        "E'esc\\';aped'",
        "e'tab\\t; \\\\'",
        "E'\\\\'",
        "E'x\\\\\\'y;'",
        "E'first;'\n'\\'second;'",
        "E'one'\n-- comment in between;\n'\\';two'",
        "'plain'\n'continued;'",
        "U&'d\\0061t\\+000061;'",
        "U&'d!0061t!+000061;' UESCAPE '!'",
        "u&'semi;''colon'",
        "N'national;'",
        "B'1010'",
        "X'1F'",
        "$$dollar; 'quote$$",
        "$tag$ ; $other$ ; $$ ' \" $tag$",
        "$a$ $b$ ; $b$ $a$",
        "$t1$;$t$;$t1$",
        "$é$ ; non-ascii tag $é$",
        "$_$ -- ; /* $_$",
        "'-- not a comment;'",
        "'/* not a comment;'",
        "'\\g \\i psql; meta'",
        "'é; ü'",
    ];
    rng.pick(options).to_string()
}

/// A name that reads as `begin` or `end`, or holds a `;`, where the grammar takes it as a name.
fn column(rng: &mut Rng) -> String {
    let options: &[&str] =
        &["\"a;b\"", "\"we\"\"ird;\"", "U&\"d\\0061t;\"", "a$b$", "x$", "\"end\"", "\"begin\"", "\"--;\""];
    rng.pick(options).to_string()
}

/// One statement with marker `marker`.
fn piece(rng: &mut Rng, marker: usize) -> Piece {
    let mark = format!("s{marker}");
    let select = |sql: String| Piece { sql, marker: Some(mark.clone()) };
    match rng.below(9) {
        0 | 1 => {
            let s = rng.case("select");
            let value = string_constant(rng);
            let name = column(rng);
            select(format!("{s} '{mark}', {value} AS {name}"))
        }
        2 => {
            let s = rng.case("select");
            let (b, e) = (rng.case("begin"), rng.case("end"));
            select(format!("{s} '{mark}', x.{e}, x.{b}, x.{e} + 1 AS {e} FROM ({s} 1 AS {e}, 2 AS {b}) x"))
        }
        3 => {
            let (s, case, end) = (rng.case("select"), rng.case("case"), rng.case("end"));
            select(format!("{s} '{mark}', {case} WHEN ';' = ';' THEN {case} WHEN true THEN 1 {end} ELSE 2 {end}"))
        }
        4 => {
            let value = string_constant(rng);
            let (c, f) = (rng.case("create or replace"), rng.case("function"));
            let name = rng.pick(&["begin", "\"begin\"", "end_", "atomic"]);
            Piece {
                sql: format!("{c} {f} pg_temp.{name}() RETURNS text LANGUAGE sql AS {}", quote_body(&value)),
                marker: None,
            }
        }
        5 | 6 => Piece { sql: atomic_routine(rng, marker), marker: None },
        7 => {
            let s = rng.case("select");
            select(format!("{s} '{mark}' /* ; /* ; */ ; */ -- ;\n, 1 /*/ */"))
        }
        _ => {
            let s = rng.case("values");
            let value = string_constant(rng);
            select(format!("{s} ('{mark}', {value})"))
        }
    }
}

/// A routine body, dollar-quoted, that selects `value` (whose own dollar quotes use other tags).
fn quote_body(value: &str) -> String {
    format!("$body$SELECT ({value})::text$body$")
}

/// A SQL-standard routine whose `BEGIN ATOMIC ... END` body holds `;`, `CASE ... END` and the
/// words `begin` and `end` as names.
fn atomic_routine(rng: &mut Rng, marker: usize) -> String {
    let mut body = Vec::new();
    for _ in 0..1 + rng.below(3) {
        let s = rng.case("select");
        let (case, end) = (rng.case("case"), rng.case("end"));
        body.push(match rng.below(5) {
            0 => format!("{s} {case} WHEN true THEN {case} WHEN false THEN 1 ELSE 2 {end} ELSE 3 {end}"),
            1 => format!("{s} x.{end} FROM ({s} 1 AS {end}) x"),
            2 => format!("{s} 1 AS {end}"),
            3 => format!("{s} length({}) - length({})", string_constant_in_body(rng), string_constant_in_body(rng)),
            _ => format!("{s} x.begin FROM ({s} 4 AS begin) x"),
        });
    }
    let atomic_opener = rng.pick(&["BEGIN ATOMIC", "begin atomic", "BEGIN /* c; */ -- d;\n ATOMIC", "Begin\nAtomic"]);
    let kind = if rng.below(3) == 0 { "PROCEDURE" } else { "FUNCTION" };
    let returns = if kind == "FUNCTION" { " RETURNS SETOF int" } else { "" };
    let sep = rng.pick(&[";", "; ", ";\n", " ; -- x;\n"]);
    format!(
        "{} {} pg_temp.r{marker}(){returns} LANGUAGE sql\n{atomic_opener}\n  {};\n{}",
        rng.case("create or replace"),
        rng.case(kind),
        body.join(sep),
        rng.case("end")
    )
}

/// A string constant a SQL-standard body can hold (a body is parsed, not quoted).
fn string_constant_in_body(rng: &mut Rng) -> String {
    rng.pick(&["'a;b'", "E'\\';'", "$q$;$q$", "'x\\'"]).to_string()
}

/// Generates the next script of `rng`'s corpus: 1 to 8 statements with separators, markers
/// numbered from `first_marker`.
pub fn script(rng: &mut Rng, first_marker: usize) -> Script {
    let mut pieces = Vec::new();
    let mut text = String::new();
    for k in 0..1 + rng.below(8) {
        text.push_str(rng.pick(SEPARATORS));
        let piece = piece(rng, first_marker + k);
        text.push_str(&piece.sql);
        text.push(';');
        pieces.push(piece);
    }
    // Sometimes the last statement has no `;`, as a file may end.
    if rng.below(4) == 0 {
        text.pop();
    } else {
        text.push_str(rng.pick(SEPARATORS));
    }
    Script { pieces, text }
}
