"""Harness for the e2e tests: a real PostgreSQL, the vidjobs simulator and a real Airflow deployment."""
