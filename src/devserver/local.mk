# src/devserver
