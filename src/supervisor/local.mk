# src/supervisor
