# src/ipc
