"""The control plane's rules: the backlog (repositories, tickets), a job's lifecycle and human
decisions, which queued job runs next, the web app's accounts, reverts of merged work, job costs."""
