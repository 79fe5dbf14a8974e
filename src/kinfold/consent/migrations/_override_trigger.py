"""The trigger that refuses any change to an override's scope or expiry (used by 0004 and 0006)."""

from __future__ import annotations

FIXED = (
    "family_id",
    "person_id",
    "purpose_id",
    "categories",
    "partners",
    "expires_at",
    "justification",
    "proposed_by_id",
    "proposed_at",
    "override_id",
)
TABLE = "consent_override"

POSTGRES = f"""
CREATE OR REPLACE FUNCTION kinfold_override_scope_fixed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF {" OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in FIXED)} THEN
        RAISE EXCEPTION 'an override''s scope and expiry cannot change: propose a new override'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER {TABLE}_scope_fixed BEFORE UPDATE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION kinfold_override_scope_fixed();
"""
POSTGRES_BACK = f"""
DROP TRIGGER IF EXISTS {TABLE}_scope_fixed ON {TABLE};
DROP FUNCTION IF EXISTS kinfold_override_scope_fixed();
"""
SQLITE = (
    f"CREATE TRIGGER {TABLE}_scope_fixed BEFORE UPDATE ON {TABLE} "
    f"WHEN {' OR '.join(f'NEW.{c} IS NOT OLD.{c}' for c in FIXED)} BEGIN "
    "SELECT RAISE(ABORT, 'an override''s scope and expiry cannot change: propose a new override'); "
    "END;"
)
SQLITE_BACK = f"DROP TRIGGER IF EXISTS {TABLE}_scope_fixed;"
