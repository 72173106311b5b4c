-- create-role.sql: the PostgreSQL database and roles of handoffd, with the
-- least privilege each needs. Run it once, as a superuser, with psql:
--
--   sudo -u postgres psql -v ON_ERROR_STOP=1 -f create-role.sql
--
-- It is safe to run again (after an upgrade, or to repair privileges): what
-- exists is kept, and the privileges are granted again.
--
-- What it makes (names can be changed with psql variables, e.g.
-- -v dbname=handoff_eu -v role=handoff_eu; the defaults are shown):
--
--   role      handoff         the daemon's login role. It owns one schema and
--                             nothing else: it can connect to its database
--                             only, create objects only in its schema (the
--                             daemon applies its own migrations, which needs
--                             CREATE there), use temporary tables (each
--                             connection stages a batch in one), and it is
--                             neither superuser nor allowed to create roles
--                             or databases.
--   reader    handoff_reader  a group role (NOLOGIN) for analysts and
--                             dashboards: read-only access to every table and
--                             view of the schema, present and future, KPI
--                             views included. Give it to a login role:
--                             CREATE ROLE grafana LOGIN IN ROLE handoff_reader;
--   dbname    handoff         the database, owned by the superuser running
--                             this script, UTF-8.
--   schema    handoff         the schema, owned by the daemon's role; the
--                             role's search_path is set to it, so the
--                             migrations create their tables there.
--
-- No password is set here: with the default conninfo
-- "postgresql:///handoff" the daemon connects over the local socket as the
-- system user handoff, which PostgreSQL's default "peer" authentication maps
-- to the role of the same name. For a TCP connection, set a password with
-- psql's \password handoff, and give it to the daemon as a systemd
-- credential (deploy/OPERATIONS.md), never in the configuration file.

\if :{?role}
\else
\set role handoff
\endif
\if :{?reader}
\else
\set reader handoff_reader
\endif
\if :{?dbname}
\else
\set dbname handoff
\endif
\if :{?schema}
\else
\set schema handoff
\endif

SET client_min_messages = warning;

-- The roles. An existing role is brought back to least privilege rather
-- than recreated, so that its password and memberships stay.
SELECT format('CREATE ROLE %I LOGIN', :'role')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
	NOBYPASSRLS INHERIT;

SELECT format('CREATE ROLE %I NOLOGIN', :'reader')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'reader') \gexec
ALTER ROLE :"reader" NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
	NOBYPASSRLS;

-- The database. CREATE DATABASE cannot run inside a transaction or a DO
-- block, hence \gexec. template0 lets the encoding be UTF-8 whatever
-- template1's is (event bodies are UTF-8 JSON).
SELECT format('CREATE DATABASE %I ENCODING %L TEMPLATE template0', :'dbname',
	'UTF8')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'dbname') \gexec

-- Nobody may connect or create temporary tables but the roles named here.
REVOKE ALL ON DATABASE :"dbname" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"dbname" TO :"role";
GRANT CONNECT ON DATABASE :"dbname" TO :"reader";

\connect :"dbname"
SET client_min_messages = warning;

-- The public schema stays empty: no one may create objects in it (the
-- default since PostgreSQL 15; older servers allowed everyone).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

CREATE SCHEMA IF NOT EXISTS :"schema" AUTHORIZATION :"role";
ALTER SCHEMA :"schema" OWNER TO :"role";
REVOKE ALL ON SCHEMA :"schema" FROM PUBLIC;
ALTER ROLE :"role" IN DATABASE :"dbname" SET search_path = :"schema";

-- Read-only access for the reader, to what exists now and to what the
-- daemon's later migrations create.
GRANT USAGE ON SCHEMA :"schema" TO :"reader";
GRANT SELECT ON ALL TABLES IN SCHEMA :"schema" TO :"reader";
ALTER DEFAULT PRIVILEGES FOR ROLE :"role" IN SCHEMA :"schema"
	GRANT SELECT ON TABLES TO :"reader";
