"""German."""

from kinfolk.i18n.catalogue import Catalogue

CATALOGUE = Catalogue(
    validation_failed="Validierung fehlgeschlagen",
    messages={
        "Query is too long (maximum is {count} characters)": (
            "Die Suchanfrage ist zu lang (höchstens {count} Zeichen)"
        ),
        "Parameters can't contain a null character": "Parameter dürfen kein Nullzeichen enthalten",
        "A value is out of range or not valid here": (
            "Ein Wert liegt außerhalb des zulässigen Bereichs oder ist hier ungültig"
        ),
        "This server does not answer to that host name": (
            "Dieser Server antwortet nicht auf diesen Hostnamen"
        ),
        "Cannot attach a video to a post that already contains images": (
            "Ein Video kann nicht an einen Beitrag angehängt werden, der bereits Bilder enthält"
        ),
        "You have exceeded the limit of {count} scheduled posts for today": (
            "Du hast das Limit von {count} geplanten Beiträgen für heute überschritten"
        ),
        "You have exceeded the limit of {count} scheduled posts": (
            "Du hast das Limit von {count} geplanten Beiträgen überschritten"
        ),
        "Media {ids} not found or already attached to another post": (
            "Medien {ids} nicht gefunden oder bereits an einen anderen Beitrag angehängt"
        ),
        "Record not found": "Eintrag nicht gefunden",
        "This action is not allowed": "Diese Aktion ist nicht erlaubt",
        "The access token is invalid": "Das Zugriffstoken ist ungültig",
        "This action is outside the authorized scopes": (
            "Diese Aktion liegt außerhalb der erlaubten Berechtigungen"
        ),
        "This method requires an authenticated user": "Für diese Methode ist ein angemeldeter Benutzer nötig",
        "Method not allowed": "Methode nicht erlaubt",
        "Too many requests": "Zu viele Anfragen",
        "Request entity too large": "Die Anfrage ist zu groß",
        "Internal server error": "Interner Serverfehler",
        "Service unavailable": "Dienst nicht verfügbar",
        "Insufficient storage": "Nicht genügend Speicherplatz",
        "Bad request": "Ungültige Anfrage",
        "Gone": "Nicht mehr vorhanden",
        "Error occurred while parsing request parameters": (
            "Die Parameter der Anfrage konnten nicht gelesen werden"
        ),
        "Registrations are closed on this server": "Auf diesem Server sind Registrierungen geschlossen",
        "param is missing or the value is empty: {param}": "Parameter fehlt oder ist leer: {param}",
        "The post you are trying to reply to does not appear to exist.": (
            "Der Beitrag, auf den du antworten möchtest, scheint nicht zu existieren."
        ),
        "The post you are trying to quote does not appear to exist.": (
            "Der Beitrag, den du zitieren möchtest, scheint nicht zu existieren."
        ),
        "`account_id` parameter is missing": "Der Parameter `account_id` fehlt",
        "Text character limit of {count} exceeded": "Text überschreitet die Grenze von {count} Zeichen",
        "Media attachments can't be more than {count}": "Es sind höchstens {count} Medienanhänge möglich",
        "Media {ids} not found": "Medien {ids} nicht gefunden",
        "Media could not be processed and cannot be attached": (
            "Die Medien konnten nicht verarbeitet werden und lassen sich nicht anhängen"
        ),
        "Media processing is not complete; try again in a moment": (
            "Die Medien werden noch verarbeitet; versuche es gleich noch einmal"
        ),
        "Media attributes refer to media not attached to this post": (
            "Die Medienangaben beziehen sich auf Medien, die nicht an diesen Beitrag angehängt sind"
        ),
        "Media attributes are invalid": "Die Medienangaben sind ungültig",
        "This post cannot be quoted": "Dieser Beitrag kann nicht zitiert werden",
        "Status can only pin your own posts": "Du kannst nur deine eigenen Beiträge anheften",
        "Status cannot pin private mentions": "Private Erwähnungen können nicht angeheftet werden",
        "Status cannot pin more than {count} posts": "Es können höchstens {count} Beiträge angeheftet werden",
        "Status has no conversation": "Der Beitrag gehört zu keiner Unterhaltung",
        "Scheduled at The scheduled date must be in the future": (
            "Das geplante Datum muss in der Zukunft liegen"
        ),
        "You have exceeded the limit of {count} scheduled statuses": (
            "Du hast die Grenze von {count} geplanten Beiträgen überschritten"
        ),
        "Poll options must be a list": "Die Umfrageoptionen müssen eine Liste sein",
        "Poll expires_in must be a number": "Die Laufzeit der Umfrage (expires_in) muss eine Zahl sein",
        "Poll must have at least {count} options": "Eine Umfrage braucht mindestens {count} Optionen",
        "Poll can't contain more than {count} items": "Eine Umfrage kann höchstens {count} Optionen haben",
        "Poll options can't be longer than {count} characters": (
            "Umfrageoptionen dürfen höchstens {count} Zeichen lang sein"
        ),
        "Poll contains duplicate items": "Die Umfrage enthält doppelte Optionen",
        "Poll expiration too soon": "Die Umfrage endet zu früh",
        "Poll expiration too far in the future": "Die Umfrage endet zu weit in der Zukunft",
        "The poll has already ended": "Die Umfrage ist bereits beendet",
        "You need to pick at least one option": "Du musst mindestens eine Option wählen",
        "You can only pick one option": "Du kannst nur eine Option wählen",
        "That option does not exist": "Diese Option gibt es nicht",
        "You have already voted on this poll": "Du hast bei dieser Umfrage bereits abgestimmt",
        "You have already voted for this option": "Du hast bereits für diese Option gestimmt",
        "Too many ids (maximum is {count})": "Zu viele IDs (höchstens {count})",
        "You have reached the maximum number of lists": "Du hast die Höchstzahl an Listen erreicht",
        "You have reached the maximum number of collections": "Du hast die Höchstzahl an Sammlungen erreicht",
    },
    attribute_messages={
        "can't be blank": "darf nicht leer sein",
        "is invalid": "ist ungültig",
        "is too long (maximum is {count} characters)": "ist zu lang (höchstens {count} Zeichen)",
        "is too short (minimum is {count} characters)": "ist zu kurz (mindestens {count} Zeichen)",
        "is too long (maximum is {count} fields)": "hat zu viele Einträge (höchstens {count} Felder)",
        "is too long (maximum is {count} accounts)": "hat zu viele Einträge (höchstens {count} Konten)",
        "is too long (maximum is {count} domains)": "hat zu viele Einträge (höchstens {count} Domains)",
        "is already taken": "ist bereits vergeben",
        "or e-mail is already taken": "oder E-Mail-Adresse ist bereits vergeben",
        "has already been taken": "ist bereits vergeben",
        "is reserved": "ist reserviert",
        "is not included in the list": "ist kein zulässiger Wert",
        "must be accepted": "muss akzeptiert werden",
        "must contain only letters, numbers, underscores and inner dots or dashes": (
            "darf nur Buchstaben, Ziffern, Unterstriche sowie innen Punkte oder Bindestriche enthalten"
        ),
        "must be one of {choices}": "muss einer dieser Werte sein: {choices}",
        "is not a supported language code": "ist kein unterstützter Sprachcode",
        "must be a string": "muss ein Text sein",
        "is not a number": "ist keine Zahl",
        "must be smaller than {count} MB": "muss kleiner als {count} MB sein",
    },
    attributes={
        "Text": "Text",
        "Visibility": "Sichtbarkeit",
        "Spoiler text": "Inhaltswarnung",
        "Language": "Sprache",
        "Quote approval policy": "Zitierberechtigung",
        "Scheduled at": "Geplant für",
        "Poll": "Umfrage",
        "Focus": "Fokuspunkt",
        "Description": "Beschreibung",
        "Thumbnail": "Vorschaubild",
        "File": "Datei",
        "Username": "Benutzername",
        "Email": "E-Mail-Adresse",
        "Password": "Passwort",
        "Agreement": "Zustimmung",
        "Locale": "Sprache der Oberfläche",
        "Reason": "Begründung",
        "Display name": "Anzeigename",
        "Note": "Biografie",
        "Fields": "Zusatzfelder",
        "Avatar": "Profilbild",
        "Header": "Titelbild",
        "Avatar description": "Beschreibung des Profilbilds",
        "Header description": "Beschreibung des Titelbilds",
        "Source privacy": "Standard-Sichtbarkeit",
        "Source language": "Standardsprache",
        "Source quote policy": "Standard-Zitierberechtigung",
        "Attribution domains": "Domains für die Urheberschaft",
        "Role": "Rolle",
        "Title": "Titel",
        "Replies policy": "Antworten-Einstellung",
        "Name": "Name",
        "Tag name": "Hashtag",
        "Tag": "Hashtag",
        "Account": "Konto",
        "Collection items": "Einträge der Sammlung",
    },
)
