# src/jobproc
