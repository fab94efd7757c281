"""French."""

from kinfolk.i18n.catalogue import Catalogue

CATALOGUE = Catalogue(
    validation_failed="La validation a échoué",
    messages={
        "Query is too long (maximum is {count} characters)": (
            "La recherche est trop longue ({count} caractères au maximum)"
        ),
        "Parameters can't contain a null character": (
            "Les paramètres ne peuvent pas contenir de caractère nul"
        ),
        "A value is out of range or not valid here": "Une valeur est hors limites ou n'est pas valide ici",
        "This server does not answer to that host name": "Ce serveur ne répond pas à ce nom d'hôte",
        "Cannot attach a video to a post that already contains images": (
            "Impossible de joindre une vidéo à un message qui contient déjà des images"
        ),
        "You have exceeded the limit of {count} scheduled posts for today": (
            "Vous avez dépassé la limite de {count} messages programmés pour aujourd'hui"
        ),
        "You have exceeded the limit of {count} scheduled posts": (
            "Vous avez dépassé la limite de {count} messages programmés"
        ),
        "Media {ids} not found or already attached to another post": (
            "Médias {ids} introuvables ou déjà joints à un autre message"
        ),
        "Record not found": "Enregistrement introuvable",
        "This action is not allowed": "Cette action n'est pas autorisée",
        "The access token is invalid": "Le jeton d'accès n'est pas valide",
        "This action is outside the authorized scopes": "Cette action dépasse les autorisations accordées",
        "This method requires an authenticated user": "Cette méthode nécessite un utilisateur connecté",
        "Method not allowed": "Méthode non autorisée",
        "Too many requests": "Trop de requêtes",
        "Request entity too large": "Requête trop volumineuse",
        "Internal server error": "Erreur interne du serveur",
        "Service unavailable": "Service indisponible",
        "Insufficient storage": "Espace de stockage insuffisant",
        "Bad request": "Requête incorrecte",
        "Gone": "Supprimé",
        "Error occurred while parsing request parameters": "Impossible de lire les paramètres de la requête",
        "Registrations are closed on this server": "Les inscriptions sont fermées sur ce serveur",
        "param is missing or the value is empty: {param}": "paramètre manquant ou vide : {param}",
        "The post you are trying to reply to does not appear to exist.": (
            "Le message auquel vous essayez de répondre semble ne pas exister."
        ),
        "The post you are trying to quote does not appear to exist.": (
            "Le message que vous essayez de citer semble ne pas exister."
        ),
        "`account_id` parameter is missing": "Le paramètre `account_id` est manquant",
        "Text character limit of {count} exceeded": "Le texte dépasse la limite de {count} caractères",
        "Media attachments can't be more than {count}": "Vous ne pouvez pas joindre plus de {count} médias",
        "Media {ids} not found": "Médias {ids} introuvables",
        "Media could not be processed and cannot be attached": (
            "Le média n'a pas pu être traité et ne peut pas être joint"
        ),
        "Media processing is not complete; try again in a moment": (
            "Le traitement du média n'est pas terminé ; réessayez dans un instant"
        ),
        "Media attributes refer to media not attached to this post": (
            "Les attributs de média désignent des médias qui ne sont pas joints à ce message"
        ),
        "Media attributes are invalid": "Les attributs de média ne sont pas valides",
        "This post cannot be quoted": "Ce message ne peut pas être cité",
        "Status can only pin your own posts": "Vous ne pouvez épingler que vos propres messages",
        "Status cannot pin private mentions": "Les mentions privées ne peuvent pas être épinglées",
        "Status cannot pin more than {count} posts": "Vous ne pouvez pas épingler plus de {count} messages",
        "Status has no conversation": "Ce message n'appartient à aucune conversation",
        "Scheduled at The scheduled date must be in the future": (
            "La date de publication programmée doit être dans le futur"
        ),
        "You have exceeded the limit of {count} scheduled statuses": (
            "Vous avez dépassé la limite de {count} messages programmés"
        ),
        "Poll options must be a list": "Les choix du sondage doivent être une liste",
        "Poll expires_in must be a number": "La durée du sondage (expires_in) doit être un nombre",
        "Poll must have at least {count} options": "Un sondage doit avoir au moins {count} choix",
        "Poll can't contain more than {count} items": "Un sondage ne peut pas avoir plus de {count} choix",
        "Poll options can't be longer than {count} characters": (
            "Les choix du sondage ne peuvent pas dépasser {count} caractères"
        ),
        "Poll contains duplicate items": "Le sondage contient des choix en double",
        "Poll expiration too soon": "Le sondage se termine trop tôt",
        "Poll expiration too far in the future": "Le sondage se termine trop loin dans le futur",
        "The poll has already ended": "Le sondage est déjà terminé",
        "You need to pick at least one option": "Vous devez choisir au moins une option",
        "You can only pick one option": "Vous ne pouvez choisir qu'une seule option",
        "That option does not exist": "Cette option n'existe pas",
        "You have already voted on this poll": "Vous avez déjà voté à ce sondage",
        "You have already voted for this option": "Vous avez déjà voté pour cette option",
        "Too many ids (maximum is {count})": "Trop d'identifiants (au maximum {count})",
        "You have reached the maximum number of lists": "Vous avez atteint le nombre maximal de listes",
        "You have reached the maximum number of collections": (
            "Vous avez atteint le nombre maximal de collections"
        ),
    },
    attribute_messages={
        "can't be blank": "doit être rempli(e)",
        "is invalid": "n'est pas valide",
        "is too long (maximum is {count} characters)": "est trop long (pas plus de {count} caractères)",
        "is too short (minimum is {count} characters)": "est trop court (au moins {count} caractères)",
        "is too long (maximum is {count} fields)": "contient trop d'éléments (pas plus de {count} champs)",
        "is too long (maximum is {count} accounts)": "contient trop d'éléments (pas plus de {count} comptes)",
        "is too long (maximum is {count} domains)": "contient trop d'éléments (pas plus de {count} domaines)",
        "is already taken": "est déjà utilisé",
        "or e-mail is already taken": "ou adresse e-mail déjà utilisé",
        "has already been taken": "est déjà utilisé",
        "is reserved": "est réservé",
        "is not included in the list": "n'est pas une valeur autorisée",
        "must be accepted": "doit être accepté",
        "must contain only letters, numbers, underscores and inner dots or dashes": (
            "ne peut contenir que des lettres, des chiffres, des tirets bas et, à l'intérieur, "
            "des points ou des tirets"
        ),
        "must be one of {choices}": "doit être l'une de ces valeurs : {choices}",
        "is not a supported language code": "n'est pas un code de langue pris en charge",
        "must be a string": "doit être un texte",
        "is not a number": "n'est pas un nombre",
        "must be smaller than {count} MB": "doit faire moins de {count} Mo",
    },
    attributes={
        "Text": "Texte",
        "Visibility": "Visibilité",
        "Spoiler text": "Avertissement de contenu",
        "Language": "Langue",
        "Quote approval policy": "Autorisation de citation",
        "Scheduled at": "Date programmée",
        "Poll": "Sondage",
        "Focus": "Point focal",
        "Description": "Description",
        "Thumbnail": "Vignette",
        "File": "Fichier",
        "Username": "Nom d'utilisateur",
        "Email": "Adresse e-mail",
        "Password": "Mot de passe",
        "Agreement": "Acceptation des conditions",
        "Locale": "Langue de l'interface",
        "Reason": "Motif",
        "Display name": "Nom affiché",
        "Note": "Biographie",
        "Fields": "Champs de profil",
        "Avatar": "Photo de profil",
        "Header": "Bannière",
        "Avatar description": "Description de la photo de profil",
        "Header description": "Description de la bannière",
        "Source privacy": "Visibilité par défaut",
        "Source language": "Langue par défaut",
        "Source quote policy": "Autorisation de citation par défaut",
        "Attribution domains": "Domaines d'attribution",
        "Role": "Rôle",
        "Title": "Titre",
        "Replies policy": "Affichage des réponses",
        "Name": "Nom",
        "Tag name": "Hashtag",
        "Tag": "Hashtag",
        "Account": "Compte",
        "Collection items": "Éléments de la collection",
    },
)
