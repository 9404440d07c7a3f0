-- Why a judged statement did not run, in full: the diagnostic (code,
-- message, span, hint) the guard returned to the model, or the database's
-- refusal of a statement the guard accepted (a slot taken meanwhile, a
-- closed appointment). `refused_with` keeps the guard's code alone, as
-- before; a database refusal leaves it null and fills only this.
alter table sql_audit add column refusal jsonb;
