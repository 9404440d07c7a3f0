//! The typed, normalised description of a bound statement that policies
//! read, and the decisions they answer with: the Rust side of
//! `policies/wit/policy.wit`, field for field. The runtime converts these
//! to and from the WIT types; the compiler never sees wasmtime.

/// On whose behalf a statement runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    pub tenant_id: i64,
    /// The verified customer; `None` for a visitor.
    pub customer_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatementKind {
    Select,
    Insert,
    Other(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    TenantPublic,
    CustomerPrivate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    Top,
    FromSubquery,
    LateralSubquery,
    ExpressionSubquery,
    Cte,
    SetOperationArm,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub id: u32,
    pub table: String,
    pub alias: String,
    pub depth: u32,
    pub block: BlockKind,
    pub insert_target: bool,
    pub nullable_side: bool,
    pub is_view: bool,
    pub access: Access,
    pub tenant_column: Option<String>,
    pub owner_column: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clause {
    Projection,
    Where,
    JoinOn,
    GroupBy,
    Having,
    OrderBy,
    FunctionArgument,
    InsertColumn,
    Returning,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnType {
    Integer,
    Numeric,
    Boolean,
    Text { searchable: bool },
    Date,
    Time,
    Timestamp,
    Enumeration { name: String, labels: Vec<String> },
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnUse {
    pub id: u32,
    pub relation: u32,
    pub column: String,
    pub column_type: ColumnType,
    pub clause: Clause,
    pub staff_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Literal {
    Null,
    Boolean(bool),
    Integer(i64),
    Number(String),
    Text(String),
    Typed { type_name: String, value: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComparisonOp {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    Like,
    NotLike,
    Ilike,
    NotIlike,
    InList,
    NotInList,
    Between,
    NotBetween,
    IsDistinctFrom,
    IsNotDistinctFrom,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    pub id: u32,
    pub column: u32,
    pub op: ComparisonOp,
    pub literals: Vec<Literal>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionCall {
    pub id: u32,
    pub name: String,
    pub arguments: u32,
    pub aggregate_or_window: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeatureKind {
    LockingClause,
    SelectInto,
    WritableCte,
    OnConflict,
    RecursiveCte,
    SetOperation,
    WindowFunction,
    Lateral,
    Returning,
    InsertSelect,
    MultipleStatements,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feature {
    pub id: u32,
    pub kind: FeatureKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsertValue {
    Literal(Literal),
    Default,
    Expression,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsertColumn {
    pub column: String,
    pub column_type: ColumnType,
    pub values: Vec<InsertValue>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Insert {
    pub target: u32,
    pub columns: Vec<InsertColumn>,
    pub rows: u32,
}

/// Everything a policy sees of one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub session: Session,
    pub kind: StatementKind,
    pub relations: Vec<Relation>,
    pub columns: Vec<ColumnUse>,
    pub comparisons: Vec<Comparison>,
    pub functions: Vec<FunctionCall>,
    pub features: Vec<Feature>,
    pub insert: Option<Insert>,
    pub limit: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SessionValue {
    TenantId,
    CustomerId,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rewrite {
    AddScope {
        relation: u32,
        column: String,
        value: SessionValue,
    },
    UnaccentIlike(u32),
    ForceInsert {
        column: String,
        value: SessionValue,
    },
    CapLimit(u64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Statement,
    Relation(u32),
    Column(u32),
    Comparison(u32),
    Function(u32),
    Feature(u32),
    InsertColumn(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub code: String,
    pub message: String,
    pub hint: Option<String>,
    pub at: Node,
}

/// One policy's answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    pub denials: Vec<Denial>,
    pub rewrites: Vec<Rewrite>,
    pub rules: Vec<String>,
}
