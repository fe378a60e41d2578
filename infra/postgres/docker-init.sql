-- Run once by the postgres:15 image on an empty volume (docker-compose.yml); the local
-- stack does the same with infra/postgres/ensure-db. Tables come from Django migrations.
CREATE SCHEMA IF NOT EXISTS payments_history AUTHORIZATION billing;
ALTER ROLE billing CREATEDB;
