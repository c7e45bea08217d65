;;; session.el --- batch Emacs + eglot against istio-lsp, configured by the README  -*- lexical-binding: t -*-

;; Run by tests/editors/test_emacs.py from the root of a copy of examples/broken:
;;   emacs --batch -Q -l session.el
;; Env: ISTIO_TEST_CONFIG   elisp file holding the README block (loaded like an init file)
;;      ISTIO_TEST_SETTINGS JSON object set as eglot-workspace-configuration's :istioLsp (optional)
;;      ISTIO_TEST_EXPECT   JSON list of "path:line:code:severity", what `istio-lsp check` reports
;;      ISTIO_TEST_WAIT_MS  how long each step may wait
;; Prints one marker line per step and PASS; any failure prints FAIL and exits non-zero.
;;
;; Batch mode has no command loop, so three things it would do are done by hand: run
;; `post-command-hook' (where `eglot-ensure' connects), `flymake-start' (Flymake starts on
;; idle/post-command), and `eglot--signal-textDocument/didChange' (eglot sends edits on an idle
;; timer). The last one is internal to eglot and may be renamed in later versions.

(require 'package)
;; -Q hides Debian's elpa-* packages (eglot and yaml-mode for Emacs 28)
(add-to-list 'package-directory-list "/usr/share/emacs/site-lisp/elpa")
(package-initialize)
(require 'cl-lib)
(require 'seq)
(require 'subr-x)

(defvar istio-wait (/ (string-to-number (or (getenv "ISTIO_TEST_WAIT_MS") "15000")) 1000.0))
(defvar istio-root (file-name-as-directory (file-truename default-directory)))
(defconst istio-severities '("error" "warning" "information" "hint"))

(define-error 'istio-check "check failed")

(defun istio-say (fmt &rest args)
  (princ (concat (apply #'format fmt args) "\n")))

(defun istio-check (ok fmt &rest args)
  (unless ok (signal 'istio-check (list (apply #'format fmt args)))))

(defun istio-wait-for (what pred &optional detail)
  "Pump the server's output until PRED holds; fail after `istio-wait' seconds."
  (let ((deadline (+ (float-time) istio-wait)))
    (while (and (not (funcall pred)) (< (float-time) deadline))
      (accept-process-output nil 0.05))
    (unless (funcall pred)
      (signal 'istio-check
              (list (format "timed out after %ss waiting for %s%s" istio-wait what
                            (if detail (concat ": " (funcall detail)) "")))))))

(defun istio-relpath (&optional file)
  (file-relative-name (file-truename (or file buffer-file-name)) istio-root))

(defun istio-findings ()
  "The istio-lsp diagnostics Flymake shows, in every buffer eglot manages, sorted."
  (let (out)
    (dolist (buffer (buffer-list))
      (with-current-buffer buffer
        (when (and buffer-file-name (bound-and-true-p eglot--managed-mode))
          (flymake-start)
          (dolist (d (flymake-diagnostics))
            (let ((lsp (cdr (assoc 'eglot-lsp-diag (flymake-diagnostic-data d)))))
              (when (equal (plist-get lsp :source) "istio-lsp")
                (push (format "%s:%d:%s:%s" (istio-relpath)
                              (line-number-at-pos (flymake-diagnostic-beg d))
                              (plist-get lsp :code)
                              (nth (1- (plist-get lsp :severity)) istio-severities))
                      out)))))))
    (sort out #'string<)))

(defun istio-visible (expected)
  "EXPECTED restricted to the files eglot manages.
Eglot 1.9 drops the diagnostics of files not visited."
  (let ((files (delq nil (mapcar (lambda (buffer)
                                   (with-current-buffer buffer
                                     (and buffer-file-name (bound-and-true-p eglot--managed-mode)
                                          (istio-relpath))))
                                 (buffer-list)))))
    (seq-filter (lambda (f) (member (car (split-string f ":")) files)) expected)))

(defun istio-wait-findings (what expected)
  "Wait until Flymake shows exactly EXPECTED, as far as the visited files go."
  (istio-wait-for what (lambda () (equal (istio-findings) (istio-visible expected)))
                  (lambda () (format "\n  got:      %s\n  expected: %s"
                                     (string-join (istio-findings) ", ")
                                     (string-join (istio-visible expected) ", ")))))

(defun istio-open (path)
  "Visit PATH as a user does.
The README's mode hook asks eglot to connect after the command."
  (istio-check (file-exists-p (expand-file-name path istio-root)) "%s does not exist" path)
  (find-file (expand-file-name path istio-root))
  (istio-check (derived-mode-p 'yaml-mode 'yaml-ts-mode) "%s opened in %s, not a YAML mode" path major-mode)
  (run-hooks 'post-command-hook)
  (istio-wait-for (format "eglot to manage %s" path)
                  (lambda () (and (bound-and-true-p eglot--managed-mode) (eglot-current-server))))
  (current-buffer))

(defun istio-goto (line text)
  "Point on 1-based LINE at the start of TEXT."
  (goto-char (point-min))
  (forward-line (1- line))
  (istio-check (search-forward text (line-end-position) t) "line %d of %s does not hold %S: %S"
               line (istio-relpath) text (thing-at-point 'line t))
  (goto-char (match-beginning 0)))

(defun istio-definition (line text)
  "M-. on TEXT at LINE, through xref and eglot; returns \"from -> to\"."
  (istio-goto line text)
  (let ((from (format "%s:%d" (istio-relpath) line)))
    (xref-find-definitions (xref-backend-identifier-at-point 'eglot))
    (format "%s -> %s:%d" from (istio-relpath) (line-number-at-pos))))

(defun istio-hover ()
  "What eldoc shows for point: eglot's hover function, rendered by eglot."
  (let (info)
    (eglot-hover-eldoc-function (lambda (text &rest _) (setq info (or text ""))))
    (istio-wait-for "the hover" (lambda () info))
    info))

(defun istio-session ()
  (load (getenv "ISTIO_TEST_CONFIG") nil t)
  (let ((settings (or (getenv "ISTIO_TEST_SETTINGS") "")))
    (unless (string-empty-p settings)
      (setq-default eglot-workspace-configuration
                    (list :istioLsp (json-parse-string settings :object-type 'plist)))))
  (let* ((expected (sort (append (json-parse-string (getenv "ISTIO_TEST_EXPECT")) nil) #'string<))
         (routes-finding "hello-world/routes.yaml:23:destination-host-is-virtualservice:error")
         (ratings-finding (seq-find (lambda (f) (string-prefix-p "bookstore/ratings.yaml:81:subset-not-found:" f))
                                    expected))
         routes server)
    (istio-check (member routes-finding expected) "the checker does not report %s" routes-finding)
    (istio-check ratings-finding "the checker reports no subset-not-found at bookstore/ratings.yaml:81")

    ;; 1. Visiting a file starts the server on the repository; its findings arrive as the checker has them.
    (setq routes (istio-open "hello-world/routes.yaml"))
    (setq server (eglot-current-server))
    (istio-say "CLIENT %s root=%s" (eglot--major-modes server)
               (directory-file-name (file-truename (project-root (eglot--project server)))))
    (istio-check (equal (file-name-as-directory (file-truename (project-root (eglot--project server)))) istio-root)
                 "the project root is not the repository")
    (istio-wait-findings "the diagnostics of routes.yaml" expected)
    (dolist (f (istio-findings)) (istio-say "DIAG %s" f))

    ;; 2. Hover on the destination host: it is only a VirtualService host.
    (istio-goto 23 "deployment-1.hello-world-app")
    (let ((hover (istio-hover)))
      (istio-say "HOVER %s" (replace-regexp-in-string "\n" " | " (substring-no-properties hover)))
      (istio-check (string-search "Only a VirtualService host" hover) "hover does not say \"Only a VirtualService host\"")
      (istio-check (string-search "hello-world-app/deployment-1-vs" hover) "hover does not name the VirtualService"))

    ;; 3. Go to definition: a destination host to its Service in another file.
    (let ((jump (istio-definition 28 "hello-world-svc"))
          (want "hello-world/routes.yaml:28 -> hello-world/workloads.yaml:4")) ; metadata.name of the Service
      (istio-say "DEFINITION %s" jump)
      (istio-check (equal jump want) "expected the jump %s, got %s" want jump))

    ;; 4. Quick fix through eglot's code action menu, picking "Route to ..." as a user would.
    (switch-to-buffer routes)
    (istio-goto 23 "deployment-1.hello-world-app")
    (let (offered picked)
      (cl-letf (((symbol-function 'completing-read)
                 (lambda (_prompt collection &rest _)
                   (setq offered (mapcar #'car collection))
                   (setq picked (seq-find (lambda (title) (string-prefix-p "Route to `deployment-1-svc" title))
                                          offered))
                   (or picked ""))))
        (let ((last-nonmenu-event ?x)) ; a keyboard event: a minibuffer menu, not a popup
          (eglot-code-actions (point) nil nil t)))
      (istio-say "ACTIONS %s" (string-join offered " | "))
      (istio-check picked "no \"Route to `deployment-1-svc`\" action offered"))
    (eglot--signal-textDocument/didChange)
    (setq expected (delete routes-finding expected))
    (istio-wait-findings (format "the quick fix to clear %s" routes-finding) expected)
    (istio-goto 23 "host:")
    (let ((fixed (string-trim (thing-at-point 'line t))))
      (istio-say "FIXED hello-world/routes.yaml:23 %s" fixed)
      (istio-check (string-prefix-p "host: deployment-1-svc" fixed) "line 23 after the fix: %s" fixed))

    ;; 5. Typing: correct the misspelled subset; its finding goes, nothing else changes.
    (istio-open "bookstore/ratings.yaml")
    (istio-wait-findings "the diagnostics of ratings.yaml" expected)
    (dolist (f (istio-findings)) (istio-say "DIAG %s" f))
    (let ((jump (istio-definition 85 "canary"))
          (want "bookstore/ratings.yaml:85 -> bookstore/ratings.yaml:65")) ; the DestinationRule's `- name: canary'
      (istio-say "DEFINITION %s" jump)
      (istio-check (equal jump want) "expected the jump %s, got %s" want jump))
    (istio-goto 81 "stabel")
    (delete-char 6)
    (insert "stable")
    (eglot--signal-textDocument/didChange)
    (setq expected (delete ratings-finding expected))
    (istio-wait-findings (format "the edit to clear %s" ratings-finding) expected)
    (istio-say "EDITED bookstore/ratings.yaml:81 stabel -> stable")

    (eglot-shutdown server)))

;; An error inside a process sentinel (eglot's "Server died") bypasses condition-case: batch Emacs
;; prints a backtrace and exits with 255. Say FAIL then too.
(defvar istio-done nil)
(add-hook 'kill-emacs-hook
          (lambda () (unless istio-done (istio-say "FAIL: Emacs exits on an error outside the session, see stderr"))))

(condition-case err
    (progn
      (istio-session)
      (setq istio-done t)
      (istio-say "PASS")
      (kill-emacs 0))
  (error
   (setq istio-done t)
   (istio-say "FAIL: %s" (error-message-string err))
   (dolist (buffer (buffer-list)) ; the LSP traffic, for the test's failure report
     (when (string-match-p "EGLOT.*events" (buffer-name buffer))
       (with-current-buffer buffer
         (princ (format "--- %s (last 6000 characters) ---\n%s\n" (buffer-name)
                        (buffer-substring-no-properties (max (point-min) (- (point-max) 6000)) (point-max)))
                #'external-debugging-output))))
   (kill-emacs 1)))

;;; session.el ends here
