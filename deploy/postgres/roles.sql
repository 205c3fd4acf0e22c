-- The roles and the database of a Valmius store, run once by a PostgreSQL superuser (docs/operations.md):
--
--   psql -U postgres -v ON_ERROR_STOP=1 -v database=valmius -v owner=valmius_owner -v runtime=valmius \
--        -v owner_password="$OWNER_PASSWORD" -v runtime_password="$RUNTIME_PASSWORD" -f deploy/postgres/roles.sql
--
-- then, as the owner, `valmius init --runtime-role valmius` (the event store's tables, append-only, and the
-- runtime role's grants), and run the service as the runtime role. Neither role is a superuser, creates
-- databases or roles; the runtime role owns only the tables it creates itself (read models, tokens, keys, the
-- audit chain) and may read and append the stored events, never update, delete or truncate them.

CREATE ROLE :"owner" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD :'owner_password';
CREATE ROLE :"runtime" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOINHERIT PASSWORD :'runtime_password';
CREATE DATABASE :"database" OWNER :"owner";
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"database" TO :"runtime";

\connect :"database"
-- The owner owns the schema (PostgreSQL 15 and later give it to the database's owner already; earlier ones
-- let every role create objects in it).
ALTER SCHEMA public OWNER TO :"owner";
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
